"""The model registry: models, immutable numbered versions, aliases and lineage."""

from __future__ import annotations

from champion.registry.entities import Model, Version, VersionKey, VersionRef
from champion.registry.listing import MetricFilter, VersionFilter, VersionPage
from champion.registry.manifest import Manifest, read_manifest
from champion.registry.service import Registry
from champion.registry.signature import SignatureChecker

__all__ = [
    "Manifest",
    "MetricFilter",
    "Model",
    "Registry",
    "SignatureChecker",
    "Version",
    "VersionFilter",
    "VersionKey",
    "VersionPage",
    "VersionRef",
    "read_manifest",
]
