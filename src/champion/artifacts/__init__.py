"""Artifact stores: where version files live, content-addressed by sha256."""

from __future__ import annotations

from champion.artifacts.cache import BlobCache
from champion.artifacts.local import LocalArtifactStore, sha256_file
from champion.artifacts.remote import ObjectArtifactStore, ObjectUrl
from champion.artifacts.store import ArtifactStore
from champion.artifacts.urls import open_artifact_store

__all__ = [
    "ArtifactStore",
    "BlobCache",
    "LocalArtifactStore",
    "ObjectArtifactStore",
    "ObjectUrl",
    "open_artifact_store",
    "sha256_file",
]
