"""A version's files in the artifact store: stored all or none, collected when unreferenced,
laid out again hash-checked.

Blobs are shared: two versions with the same file hold one blob. So a blob is removed only
when no live version refers to it, and a registration that fails half-way removes only the
blobs it added that nobody refers to, leaving the store as it found it.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from collections.abc import Callable, Collection, Iterable
from pathlib import Path

import sqlalchemy as sa

from champion.artifacts import ArtifactStore
from champion.db import read
from champion.errors import ArtifactTampered, NotFound, Unavailable
from champion.registry.confinement import check_manifest_paths
from champion.registry.entities import Version
from champion.registry.manifest import Manifest
from champion.registry.tables import versions

__all__ = ["collect_garbage", "materialise", "referenced", "restore_missing", "store_files"]

logger = logging.getLogger(__name__)


def referenced(engine: sa.Engine, candidates: Collection[str]) -> set[str]:
    """Which of ``candidates`` a live (not deleted) version refers to."""
    wanted = set(candidates)
    found: set[str] = set()
    with read(engine) as conn:
        rows = conn.execute(sa.select(versions.c.files).where(versions.c.deleted_at.is_(None)))
        for (files,) in rows:
            found.update(wanted.intersection(files.values()))
    return found


def collect_garbage(
    engine: sa.Engine, store: ArtifactStore, candidates: Iterable[str]
) -> list[str]:
    """Remove the blobs among ``candidates`` that no live version refers to; returns them.

    A blob that cannot be removed (a read-only store, a bucket out of reach) is logged and
    left: an unreferenced blob wastes space but harms nothing, and the change that freed it
    has happened.
    """
    unique = set(candidates)
    removed = []
    for sha256 in sorted(unique - referenced(engine, unique)):
        try:
            store.delete(sha256)
        except (OSError, Unavailable) as exc:
            logger.warning("Could not remove unreferenced blob %s: %s", sha256, exc)
            continue
        removed.append(sha256)
    return removed


def store_files(
    engine: sa.Engine,
    store: ArtifactStore,
    folder: Path,
    sizes: dict[str, int],
    progress: Callable[[int, int], None] | None,
) -> dict[str, str]:
    """``{relative path: sha256}`` once every file is in the store; on any failure (a full
    disk among them) the blobs it stored that no live version refers to are removed again."""
    total = sum(sizes.values())
    files: dict[str, str] = {}
    stored = 0
    try:
        for relative, size in sizes.items():
            files[relative] = store.put(folder / relative)
            stored += size
            if progress is not None:
                progress(stored, total)
    except BaseException:
        collect_garbage(engine, store, files.values())
        raise
    return files


def restore_missing(store: ArtifactStore, folder: Path, files: dict[str, str]) -> None:
    """Put back any blob of a just-committed version that a concurrent collection removed.

    A deletion elsewhere may have found a blob unreferenced in the moment between this
    registration storing it and committing the version that refers to it.
    """
    for relative, sha256 in files.items():
        if not store.exists(sha256):
            store.put(folder / relative)


def materialise(store: ArtifactStore, version: Version, destination: Path) -> Path:
    """Lay the version's files out under ``destination``, checking every sha256 on the way.

    A blob that no longer hashes to what was recorded at registration is refused with the
    name of the file, and nothing of the version is left behind.
    """
    # Checked again at load: a row written before paths were confined, or by hand, must
    # not make a flavor read outside the files that were hashed.
    check_manifest_paths(Manifest.model_validate(version.manifest), version.files)
    destination.mkdir(parents=True, exist_ok=True)
    try:
        for relative, expected in sorted(version.files.items()):
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            digest = hashlib.sha256()
            try:
                source = store.open(expected)
            except NotFound as exc:
                raise Unavailable(
                    f"Version {version.key} cannot be loaded: blob sha256 {expected} (its "
                    f"file {relative!r}) is missing from the artifact store. {exc.message} "
                    "Every replica must use the same artifact store (one "
                    "CHAMPION_ARTIFACTS_URL, or a shared CHAMPION_HOME/artifacts folder) as "
                    "the process that registered it."
                ) from None
            except ArtifactTampered as exc:
                raise ArtifactTampered(
                    f"Version {version.key} failed its sha256 check on file {relative!r}: "
                    f"{exc.message}"
                ) from None
            with source, open(target, "wb") as out:
                while chunk := source.read(1024 * 1024):
                    digest.update(chunk)
                    out.write(chunk)
            if digest.hexdigest() != expected:
                raise ArtifactTampered(
                    f"Version {version.key} failed its sha256 check on file {relative!r} "
                    f"(expected {expected[:12]}…, got {digest.hexdigest()[:12]}…); it will "
                    "not be served. Re-register the artifact."
                )
    except BaseException:
        shutil.rmtree(destination, ignore_errors=True)
        raise
    return destination
