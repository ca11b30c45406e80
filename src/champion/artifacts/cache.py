"""A replica's bounded local copy of blobs fetched from object storage, least recently used out.

Each blob sits at ``<folder>/<sha[:2]>/<sha>``, written under a temporary name and renamed, so
a process never sees half a blob; the modification time of a blob is its last use. Every hit
is hashed again before it is handed out: a copy that no longer matches its name (a bad disk,
a hand edit) is dropped and fetched again, never served.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import BinaryIO

from champion.artifacts.leftovers import owner_tag, sweep_folder
from champion.errors import ArtifactTampered

__all__ = ["BlobCache"]

logger = logging.getLogger(__name__)

_CHUNK = 1024 * 1024
_INCOMING = ".incoming-"


def _hash(handle: BinaryIO) -> str:
    digest = hashlib.sha256()
    while chunk := handle.read(_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def _used(path: Path) -> None:
    """Mark ``path`` used now: its modification time orders evictions. The clock's own
    nanoseconds, since the kernel stamps files only to its timer tick."""
    now = time.time_ns()
    try:
        os.utime(path, ns=(now, now))
    except FileNotFoundError:
        pass  # evicted meanwhile by another process: nothing to order


class BlobCache:
    """Blobs kept in ``folder`` up to ``max_bytes`` in all (0: none kept).

    Several processes of one replica may share the folder: they write under their own
    temporary names, rename into place, and an eviction of a blob another process has open
    takes nothing from that process (the open file stays readable).

    Examples
    --------
    >>> import io, tempfile
    >>> cache = BlobCache(Path(tempfile.mkdtemp()), max_bytes=1024)
    >>> sha = hashlib.sha256(b"weights").hexdigest()
    >>> with cache.fill(sha, io.BytesIO(b"weights"), "the bucket") as blob:
    ...     blob.read()
    b'weights'
    >>> with cache.open(sha) as blob:
    ...     blob.read(), cache.size()
    (b'weights', 7)
    """

    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder = folder
        self.max_bytes = max_bytes

    def _path(self, sha256: str) -> Path:
        return self.folder / sha256[:2] / sha256

    def open(self, sha256: str) -> BinaryIO | None:
        """The cached blob, checked against its sha256, read from its start; None on a miss."""
        path = self._path(sha256)
        try:
            handle = open(path, "rb")
        except FileNotFoundError:
            return None
        # Hashed through the handle that is returned: a blob evicted or replaced meanwhile by
        # another process cannot swap what was checked for what is read.
        got = _hash(handle)
        if got != sha256:
            handle.close()
            logger.warning(
                "Cached blob %s hashes to %s: dropped from the cache at %s, fetched again.",
                sha256, got, self.folder,
            )  # fmt: skip
            path.unlink(missing_ok=True)
            return None
        handle.seek(0)
        _used(path)
        return handle

    def fill(self, sha256: str, source: BinaryIO, where: str) -> BinaryIO:
        """Copy ``source`` into the cache, hashing it; returns the copy open from its start.

        Raises ArtifactTampered, keeping nothing, if what was read does not hash to
        ``sha256``. The least recently used blobs then go until the cache is within its bound;
        a blob larger than the whole bound is handed out but not kept.
        """
        target = self._path(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=_INCOMING + owner_tag())
        incoming = Path(name)
        try:
            digest = hashlib.sha256()
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
            if digest.hexdigest() != sha256:
                raise ArtifactTampered(
                    f"Artifact blob {sha256} in {where} does not match its sha256 (its content "
                    f"hashes to {digest.hexdigest()[:12]}…): it changed after it was stored, "
                    "and is neither cached nor served. Re-register the version."
                )
            # Opened before it is renamed: an eviction by another process, or by this one
            # when the blob alone exceeds the bound, leaves this handle readable.
            handle = open(incoming, "rb")
            os.replace(incoming, target)
            _used(target)
        except BaseException:
            incoming.unlink(missing_ok=True)
            raise
        self.evict()
        return handle

    def evict(self) -> list[str]:
        """Remove the least recently used blobs until at most ``max_bytes`` are kept."""
        blobs = []
        for path in self.folder.glob("??/*"):
            if path.name.startswith(_INCOMING):
                continue
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            blobs.append((stat.st_mtime_ns, stat.st_size, path))
        total = sum(size for _, size, _ in blobs)
        removed = []
        for _, size, path in sorted(blobs):
            if total <= self.max_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size
            removed.append(path.name)
        return removed

    def size(self) -> int:
        """Bytes of the blobs kept now."""
        return sum(
            path.stat().st_size
            for path in self.folder.glob("??/*")
            if not path.name.startswith(_INCOMING)
        )

    def drop(self, sha256: str) -> None:
        self._path(sha256).unlink(missing_ok=True)

    def sweep(self) -> list[Path]:
        """Remove downloads left half-written by a process that died; returns what went."""
        if not self.folder.is_dir():
            return []
        return [
            path
            for folder in sorted(self.folder.glob("??"))
            for path in sweep_folder(folder, _INCOMING)
        ]
