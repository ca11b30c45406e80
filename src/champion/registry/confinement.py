"""Every path a manifest names stays inside its version folder, among the files it hashes.

A version is what its recorded sha256 list says it is: a manifest that could name a file
outside the folder (``/srv/model.skops``, ``../../x``, a link out) would serve something
nobody hashed, which changes under the registry's feet. So a path-bearing field is refused
unless it is a plain relative path to one of the folder's regular files, and the refusal reads
the same whether or not something exists at an outside path: an error must not answer
"does /etc/shadow exist?".
"""

from __future__ import annotations

import os
import stat
from collections.abc import Collection
from pathlib import Path, PurePosixPath

from champion.errors import InvalidInput
from champion.registry.manifest import MANIFEST, Manifest

__all__ = [
    "check_manifest_paths",
    "confined_file",
    "confined_path",
    "module_files",
    "version_files",
]

SKIPPED_DIRS = frozenset({"__pycache__", ".git", ".ipynb_checkpoints"})
"""Folders a version never holds: caches and version-control state."""


def version_files(folder: Path) -> dict[str, int]:
    """``{relative posix path: size}`` of the folder's regular files, sorted.

    Symbolic links (to files or folders) and special files are refused: a version folder holds
    regular files only, so what is hashed is what is loaded.
    """
    found: dict[str, int] = {}
    pending = [folder]
    while pending:
        current = pending.pop()
        with os.scandir(current) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                relative = Path(entry.path).relative_to(folder).as_posix()
                info = entry.stat(follow_symlinks=False)
                if stat.S_ISLNK(info.st_mode):
                    raise InvalidInput(
                        f"{relative!r} is a symbolic link; a version folder holds regular "
                        "files only."
                    )
                if stat.S_ISDIR(info.st_mode):
                    if entry.name not in SKIPPED_DIRS:
                        pending.append(Path(entry.path))
                elif stat.S_ISREG(info.st_mode):
                    found[relative] = info.st_size
                else:
                    raise InvalidInput(
                        f"{relative!r} is not a regular file; a version folder holds regular "
                        "files only."
                    )
    if MANIFEST not in found:
        raise InvalidInput(f"No {MANIFEST} in the version folder.")
    return dict(sorted(found.items()))


def _relative(field: str, value: str, source: str = MANIFEST) -> str:
    """``value`` as a normalised relative posix path, or the one refusal for anything else."""
    parts = PurePosixPath(value).parts if isinstance(value, str) else ()
    if (
        not parts
        or value.startswith(("/", "~"))
        or "\\" in value
        or ":" in value
        or "\x00" in value
        or ".." in parts
    ):
        raise InvalidInput(
            f"{source}: {field} {value!r} must be a relative path to a file inside the "
            "version folder, such as 'model.skops' or 'models/model.skops' (no leading '/', "
            "'~', '\\', drive letter or '..')."
        )
    return PurePosixPath(*parts).as_posix()


def _not_a_file(field: str, value: str, files: Collection[str]) -> InvalidInput:
    shown = ", ".join(sorted(files)[:10]) + (", …" if len(files) > 10 else "")
    return InvalidInput(
        f"{MANIFEST}: {field} {value!r} is not one of the version folder's files ({shown})."
    )


def confined_file(folder: Path, field: str, value: str) -> Path:
    """``folder/value`` if ``value`` names a regular file inside ``folder`` (no link on the way).

    Used by flavors as they check and load: the registry has already refused anything else
    (see `check_manifest_paths`); this keeps a flavor safe when called on its own.
    """
    path = _unlinked(folder, field, value)
    if path is not None and path.is_file():
        return path
    raise InvalidInput(f"{MANIFEST}: {field} {value!r} is not one of the version folder's files.")


def confined_path(folder: Path, field: str, value: str, *, source: str = MANIFEST) -> Path:
    """``folder/value`` if ``value`` names a file or a folder inside ``folder`` (no link on the
    way): for formats, such as MLflow's ``MLmodel`` (``source``), that name folders too."""
    path = _unlinked(folder, field, value, source)
    if path is not None and (path.is_file() or path.is_dir()):
        return path
    raise InvalidInput(
        f"{source}: {field} {value!r} is not one of the version folder's files or folders."
    )


def _unlinked(folder: Path, field: str, value: str, source: str = MANIFEST) -> Path | None:
    """``folder/value`` unless a link lies on the way to it."""
    relative = _relative(field, value, source)
    current = folder
    for part in PurePosixPath(relative).parts:
        current = current / part
        if current.is_symlink():
            return None
    return folder / relative


def module_files(module: str) -> tuple[str, str]:
    """Where a python module of a version lives: ``a.b`` is ``a/b.py`` or ``a/b/__init__.py``."""
    relative = "/".join(module.split("."))
    return f"{relative}.py", f"{relative}/__init__.py"


def check_manifest_paths(manifest: Manifest, files: Collection[str]) -> None:
    """Refuse a manifest whose ``file`` or ``class`` module is not among ``files``.

    ``files`` are the version's hashed files (relative posix paths). Reference data files have
    fixed names (``REFERENCE_FILES``) and are only read if they are among them.
    ``lineage.data.location`` is a description for people; champion never opens it.
    """
    if manifest.file is not None:
        relative = _relative("file", manifest.file)
        if relative not in files:
            raise _not_a_file("file", manifest.file, files)
    if manifest.class_ is not None:
        module = manifest.class_.partition(":")[0]
        if not all(part.isidentifier() for part in module.split(".")):
            raise InvalidInput(
                f"{MANIFEST}: class {manifest.class_!r} must read 'module:Class' with a "
                "dotted module path of the version folder, such as 'ranker:Ranker'."
            )
        if not any(candidate in files for candidate in module_files(module)):
            plain, package = module_files(module)
            raise InvalidInput(
                f"{MANIFEST}: class {manifest.class_!r} names module {module!r}, but the "
                f"version folder has no {plain} or {package}."
            )
