"""The ArtifactStore protocol."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, Protocol

__all__ = ["ArtifactStore"]


class ArtifactStore(Protocol):
    """Immutable blobs keyed by the sha256 of their content."""

    def put(self, path: Path) -> str:
        """Store the file at ``path`` and return its sha256 (hex); raises InsufficientStorage
        when the store's disk or quota runs out, leaving no partial blob."""
        ...

    def open(self, sha256: str) -> BinaryIO:
        """Open the blob for reading; raises NotFound if absent, and ArtifactTampered if the
        store checks blobs as it fetches them and this one no longer matches its sha256."""
        ...

    def exists(self, sha256: str) -> bool: ...

    def delete(self, sha256: str) -> None:
        """Remove the blob; absent is fine (the registry calls it for unreferenced blobs)."""
        ...

    def check(self) -> None:
        """Raise Unavailable, naming the setting to correct, if the store cannot be reached."""
        ...
