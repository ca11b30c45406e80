"""Artifact stores: where version files live, content-addressed by sha256."""

from __future__ import annotations

from champion.artifacts.local import LocalArtifactStore, sha256_file
from champion.artifacts.store import ArtifactStore

__all__ = ["ArtifactStore", "LocalArtifactStore", "sha256_file"]
