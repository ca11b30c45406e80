"""An uploaded version folder: unpacked within bounds into a temporary folder of the home.

The bounds hold *while* unpacking (each member's declared size is counted before it is
written), so a small archive that would expand to gigabytes stops at the limit, not after.
Temporary folders carry their writer's host and pid, so a server start removes what a
crashed process left (see artifacts/leftovers.py).
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from champion.artifacts import BlobCache, LocalArtifactStore
from champion.artifacts.leftovers import owner_tag, sweep_folder
from champion.artifacts.space import out_of_space
from champion.errors import InvalidInput, PayloadTooLarge
from champion.registry.manifest import MANIFEST
from champion.registry.mlmodel import MLMODEL
from champion.settings import Settings

__all__ = ["UPLOAD_PREFIX", "sweep_leftovers", "unpack", "upload_workdir"]

UPLOAD_PREFIX = "upload-"


def _tmp(home: Path) -> Path:
    return home / "tmp"


def sweep_leftovers(settings: Settings) -> list[Path]:
    """Remove the upload folders and half-written blobs (stored or cached) of processes
    that died."""
    return (
        sweep_folder(_tmp(settings.home), UPLOAD_PREFIX)
        + LocalArtifactStore(settings.artifacts_dir).sweep()
        + BlobCache(settings.artifacts_cache_dir, settings.artifacts_cache_bytes).sweep()
    )


@contextmanager
def upload_workdir(home: Path) -> Iterator[Path]:
    """A fresh temporary folder under ``home/tmp``, removed when the block ends."""
    try:
        _tmp(home).mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix=UPLOAD_PREFIX + owner_tag(), dir=_tmp(home)))
    except OSError as exc:
        raise out_of_space(exc, f"the server's temporary folder {_tmp(home)}") or exc from None
    try:
        yield workdir
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def unpack(upload: BinaryIO, workdir: Path, *, max_bytes: int, max_files: int) -> Path:
    """Unpack the .tar(.gz) ``upload`` under ``workdir``; returns the version folder in it.

    Raises PayloadTooLarge past ``max_bytes`` of files or ``max_files`` entries,
    InsufficientStorage if the disk fills, InvalidInput for anything unreadable.
    """
    target = workdir / "unpacked"
    target.mkdir()
    total = entries = 0
    try:
        # Stream mode reads each header as it comes: nothing is listed or expanded ahead.
        with tarfile.open(fileobj=upload, mode="r|*") as archive:
            for member in archive:
                entries += 1
                total += member.size if member.isreg() else 0
                if entries > max_files:
                    raise PayloadTooLarge(
                        f"file: the archive holds more than {max_files:,} files and folders, "
                        "the server's limit (CHAMPION_MAX_UNPACKED_FILES)."
                    )
                if total > max_bytes:
                    raise PayloadTooLarge(
                        f"file: the archive unpacks to more than {max_bytes:,} bytes, the "
                        "server's limit (CHAMPION_MAX_UNPACKED_BYTES)."
                    )
                # The "data" filter refuses absolute paths, '..', links out of the folder and
                # devices.
                archive.extract(member, target, filter="data")
    except (tarfile.TarError, EOFError) as exc:
        raise InvalidInput(f"file: not a readable .tar.gz of a version folder ({exc}).") from None
    except OSError as exc:
        full = out_of_space(exc, f"the server's temporary folder {workdir.parent}")
        if full is not None:
            raise full from None
        raise InvalidInput(f"file: not a readable .tar.gz of a version folder ({exc}).") from None
    # A version folder, or an MLflow model folder as MLflow saved it (registered as it is).
    if any((target / name).is_file() for name in (MANIFEST, MLMODEL)):
        return target
    found = list(target.iterdir())
    if (
        len(found) == 1
        and not found[0].is_symlink()
        and any((found[0] / name).is_file() for name in (MANIFEST, MLMODEL))
    ):
        return found[0]
    raise InvalidInput(
        f"file: the archive has no {MANIFEST} (or MLflow {MLMODEL}) at its top or in its "
        "single folder."
    )
