"""Which artifact store a setting names: the local folder, or an s3:// bucket (remote.py)."""

from __future__ import annotations

from pathlib import Path

from champion.artifacts.cache import BlobCache
from champion.artifacts.local import LocalArtifactStore
from champion.artifacts.remote import ObjectArtifactStore, ObjectUrl
from champion.artifacts.store import ArtifactStore

__all__ = ["open_artifact_store"]


def open_artifact_store(
    url: str | None, *, folder: Path, cache_folder: Path, cache_bytes: int
) -> ArtifactStore:
    """The local store in ``folder`` when ``url`` is unset, else the bucket it names, cached
    in ``cache_folder`` up to ``cache_bytes``. Nothing is read or written until first use."""
    if not url:
        return LocalArtifactStore(folder)
    return ObjectArtifactStore(ObjectUrl.parse(url), BlobCache(cache_folder, cache_bytes))
