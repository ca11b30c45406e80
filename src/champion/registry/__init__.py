"""The model registry: models, immutable numbered versions, aliases and lineage."""

from __future__ import annotations

from champion.registry.entities import Model, Version, VersionKey, VersionRef
from champion.registry.manifest import Manifest, read_manifest
from champion.registry.service import Registry
from champion.registry.signature import SignatureChecker

__all__ = [
    "Manifest",
    "Model",
    "Registry",
    "SignatureChecker",
    "Version",
    "VersionKey",
    "VersionRef",
    "read_manifest",
]
