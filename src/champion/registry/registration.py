"""Registering a folder as a model's next version: checked, its files stored, its row numbered.

The folder is refused before anything is stored if a manifest path leaves it, its flavor
refuses it, code is not allowed and it carries some, or a registration hook refuses it. Its
files then go to the artifact store, and one transaction gives the version the model's next
number, sets the aliases asked for and runs the hooks' writes; if that fails, the blobs it
added that nobody else refers to are removed again.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TypeAlias

import sqlalchemy as sa

from champion import audit
from champion.artifacts import ArtifactStore
from champion.clock import Clock
from champion.db import write
from champion.errors import Forbidden, InvalidInput
from champion.plugins import Registry as PluginRegistry
from champion.registry.aliasing import move_alias
from champion.registry.blobs import collect_garbage, restore_missing, store_files
from champion.registry.confinement import check_manifest_paths, version_files
from champion.registry.entities import Version, VersionKey, check_name
from champion.registry.flavors import Flavor, LoadOptions
from champion.registry.manifest import Manifest, read_manifest
from champion.registry.mlmodel import adopt_mlflow_folder, is_mlflow_folder, with_mlmodel
from champion.registry.packages import with_packages
from champion.registry.reading import get_version
from champion.registry.tables import models, versions

__all__ = ["RegistrationHook", "RegistrationWrite", "register_folder"]

RegistrationWrite: TypeAlias = Callable[[sa.Connection, VersionKey, str, datetime], None]
"""Writes a service's own rows for a new version, in the registration's transaction."""
RegistrationHook: TypeAlias = Callable[[Path, Manifest], RegistrationWrite | None]
"""Looks at a version folder before it is stored; may refuse it or return a write."""


def register_folder(
    folder: Path,
    *,
    engine: sa.Engine,
    store: ArtifactStore,
    flavors: PluginRegistry[Flavor],
    clock: Clock,
    options: LoadOptions,
    hooks: Sequence[RegistrationHook],
    model: str | None,
    actor: str,
    aliases_to_set: tuple[str, ...],
    reason: str,
    progress: Callable[[int, int], None] | None,
    allow_code: bool,
) -> Version:
    """Store ``folder`` as the next version of ``model`` (see ``Registry.register``)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidInput(f"Version folder {str(folder)!r} does not exist or is not a folder.")
    with _champion_folder(folder) as folder:
        sizes = version_files(folder)
        manifest = read_manifest(folder)
        check_manifest_paths(manifest, sizes)
        if manifest.flavor == "mlflow":
            manifest = with_mlmodel(folder, manifest)
        manifest = with_packages(manifest)
        name = check_name("model", model or manifest.name or "")
        for alias in aliases_to_set:
            check_name("alias", alias)
        flavor = flavors.get(manifest.flavor)
        if not allow_code and _carries_code(flavor, manifest):
            raise Forbidden(
                f"This {manifest.flavor}-flavor version runs its own code in the server when "
                "loaded (a python class, a pickle or trusted_types beyond scikit-learn, NumPy "
                "and SciPy), and this server does not take code over HTTP. Its operator can "
                "allow it with CHAMPION_ALLOW_CODE_UPLOADS=true (an admin token is then needed "
                "where tokens exist), or register the folder on the server's machine with "
                "'champion models register FOLDER'."
            )
        flavor.check(folder, manifest, options)
        writes = [w for hook in hooks if (w := hook(folder, manifest)) is not None]
        size = sum(sizes.values())
        files = store_files(engine, store, folder, sizes, progress)
        # Two writers may pick the same next number on PostgreSQL; the unique key refuses one.
        for attempt in range(5):
            try:
                number = _insert_version(
                    engine,
                    clock,
                    name,
                    manifest,
                    files,
                    size,
                    actor,
                    aliases_to_set,
                    reason,
                    writes,
                )
                break
            except sa.exc.IntegrityError:
                if attempt == 4:
                    collect_garbage(engine, store, files.values())
                    raise
            except BaseException:
                collect_garbage(engine, store, files.values())
                raise
        restore_missing(store, folder, files)
    return get_version(engine, name, number)


@contextlib.contextmanager
def _champion_folder(folder: Path) -> Iterator[Path]:
    """``folder``, or for an MLflow model as it was saved, a copy with a champion.yaml written
    from its MLmodel, so the user's folder is left as it was."""
    if not is_mlflow_folder(folder):
        yield folder
        return
    with tempfile.TemporaryDirectory(prefix="champion-mlflow-") as work:
        yield adopt_mlflow_folder(folder, Path(work) / "version")


def _insert_version(
    engine: sa.Engine,
    clock: Clock,
    name: str,
    manifest: Manifest,
    files: dict[str, str],
    size: int,
    actor: str,
    aliases_to_set: tuple[str, ...],
    reason: str,
    writes: list[RegistrationWrite],
) -> int:
    now = clock.now()
    with write(engine) as conn:
        if conn.execute(sa.select(models.c.name).where(models.c.name == name)).first() is None:
            conn.execute(models.insert().values(name=name, created_at=now, created_by=actor))
            audit.record(conn, at=now, actor=actor, action="model.create", target=name)
        number = (
            1
            + conn.execute(
                sa.select(sa.func.coalesce(sa.func.max(versions.c.number), 0)).where(
                    versions.c.model == name
                )
            ).scalar_one()
        )
        conn.execute(
            versions.insert().values(
                model=name,
                number=number,
                kind=manifest.kind,
                flavor=manifest.flavor,
                manifest=manifest.to_json(),
                files=files,
                size_bytes=size,
                created_at=now,
                created_by=actor,
            )
        )
        audit.record(
            conn,
            at=now,
            actor=actor,
            action="version.register",
            target=f"{name}/{number}",
            details={
                "files": len(files),
                "size_bytes": size,
                "lineage": manifest.lineage.model_dump(mode="json", exclude_none=True),
            },
            reason=reason,
        )
        for alias in aliases_to_set:
            move_alias(conn, clock, name, alias, number, actor=actor, reason=reason)
        for write_rows in writes:
            write_rows(conn, VersionKey(name, int(number)), actor, now)
    return int(number)


def _carries_code(flavor: Flavor, manifest: Manifest) -> bool:
    carries = getattr(flavor, "carries_code", None)
    # A plugin flavor written before the question existed cannot vouch for itself.
    return True if carries is None else bool(carries(manifest))
