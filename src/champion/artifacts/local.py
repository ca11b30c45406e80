"""A content-addressed folder: each blob at ``<root>/<sha[:2]>/<sha>``."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from champion.artifacts.leftovers import owner_tag, sweep_folder
from champion.artifacts.space import out_of_space
from champion.errors import NotFound

__all__ = ["INCOMING", "LocalArtifactStore", "sha256_file"]

_CHUNK = 1024 * 1024
INCOMING = ".incoming-"
"""Prefix of a blob being written; renamed to its sha256 once complete."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class LocalArtifactStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, path: Path) -> str:
        sha256 = sha256_file(path)
        target = self._path(sha256)
        if target.exists():
            return sha256
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            # Copy to a temporary name and rename: a reader never sees a half-written blob. The
            # name says which process writes it, so a later start can tell a crash's leftover.
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=INCOMING + owner_tag())
        except OSError as exc:
            raise out_of_space(exc, f"the artifact store at {self.root}") or exc from None
        try:
            with os.fdopen(fd, "wb") as out, open(path, "rb") as src:
                shutil.copyfileobj(src, out, _CHUNK)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise out_of_space(exc, f"the artifact store at {self.root}") or exc from None
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return sha256

    def open(self, sha256: str) -> BinaryIO:
        try:
            return open(self._path(sha256), "rb")
        except FileNotFoundError:
            raise NotFound(
                f"Artifact blob {sha256} is missing from the store at {self.root}."
            ) from None

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).exists()

    def delete(self, sha256: str) -> None:
        """Remove the blob if present (a blob no version refers to any more)."""
        self._path(sha256).unlink(missing_ok=True)

    def check(self) -> None:
        """A folder needs no connection (whether it is writable, diagnostics report)."""

    def sweep(self) -> list[Path]:
        """Remove blobs left half-written by a process that died; returns what went."""
        if not self.root.is_dir():
            return []
        return [
            path
            for folder in sorted(self.root.iterdir())
            if folder.is_dir()
            for path in sweep_folder(folder, INCOMING)
        ]
