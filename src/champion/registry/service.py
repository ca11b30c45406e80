"""The registry: register versions, read them back, move aliases, resolve references."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import sqlalchemy as sa

from champion import audit
from champion.artifacts import ArtifactStore
from champion.clock import Clock
from champion.db import read, write
from champion.errors import (
    ArtifactTampered,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    Unavailable,
)
from champion.plugins import Registry as PluginRegistry
from champion.registry.blobs import collect_garbage, restore_missing, store_files
from champion.registry.compiling import DEFAULT_TOLERANCE, Compilation, compile_folder
from champion.registry.confinement import check_manifest_paths, version_files
from champion.registry.entities import Model, Version, VersionKey, VersionRef, check_name
from champion.registry.flavors import Flavor, LoadOptions
from champion.registry.listing import (
    MAX_PAGE,
    VersionFilter,
    VersionPage,
    decode_cursor,
    encode_cursor,
    select_page,
)
from champion.registry.manifest import Manifest, read_manifest
from champion.registry.mlmodel import adopt_mlflow_folder, is_mlflow_folder, with_mlmodel
from champion.registry.packages import with_packages
from champion.registry.tables import aliases, models, versions

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DeletionGuard", "RegistrationHook", "RegistrationWrite", "Registry"]

RegistrationWrite: TypeAlias = Callable[[sa.Connection, VersionKey, str, datetime], None]
"""Writes a service's own rows for a new version, in the registration's transaction."""
RegistrationHook: TypeAlias = Callable[[Path, Manifest], RegistrationWrite | None]
"""Looks at a version folder before it is stored; may refuse it or return a write."""
DeletionGuard: TypeAlias = Callable[[sa.Connection, VersionKey], list[str]]
"""Names what still uses a version (``endpoint 'recs'``), which keeps it from being deleted."""


class Registry:
    """Models, their numbered immutable versions, and aliases, with every change audited."""

    def __init__(
        self,
        engine: sa.Engine,
        store: ArtifactStore,
        flavors: PluginRegistry[Flavor],
        clock: Clock,
        options: LoadOptions,
    ) -> None:
        self.engine = engine
        self.store = store
        self.flavors = flavors
        self.clock = clock
        self.options = options
        self._hooks: list[RegistrationHook] = []
        self._guards: list[DeletionGuard] = []

    def add_registration_hook(self, hook: RegistrationHook) -> None:
        """Call ``hook(folder, manifest)`` on every registration, before anything is stored.

        A hook raises to refuse the folder; the write it returns runs in the registration's
        transaction, so the version and what the hook derived from it commit together.
        """
        self._hooks.append(hook)

    def add_deletion_guard(self, guard: DeletionGuard) -> None:
        """Ask ``guard(conn, key)`` before deleting a version; anything it names refuses it."""
        self._guards.append(guard)

    # -- writing -------------------------------------------------------------------------

    def register(
        self,
        folder: Path,
        *,
        model: str | None = None,
        actor: str,
        aliases_to_set: tuple[str, ...] = (),
        reason: str = "",
        progress: Callable[[int, int], None] | None = None,
        allow_code: bool = True,
    ) -> Version:
        """Store ``folder`` as the next version of ``model`` (default: the manifest's name).

        Every path the manifest names must be one of the folder's regular files (no link, no
        absolute or ``..`` path). ``allow_code=False`` refuses a version whose loading runs code
        that came with it (see ``Flavor.carries_code``): the server passes it for uploads
        unless its operator allows them. ``progress(bytes_stored, bytes_total)`` is called
        after each file, for progress bars. An MLflow model folder (an ``MLmodel`` and no
        champion.yaml) is registered as it is, flavor ``mlflow`` (see
        ``champion.registry.mlmodel``).
        """
        folder = Path(folder)
        if not folder.is_dir():
            raise InvalidInput(f"Version folder {str(folder)!r} does not exist or is not a folder.")
        if is_mlflow_folder(folder):
            # An MLflow model as it was saved: registered with a champion.yaml written from
            # its MLmodel, in a copy, so the user's folder is left as it was.
            with tempfile.TemporaryDirectory(prefix="champion-mlflow-") as work:
                adopted = adopt_mlflow_folder(folder, Path(work) / "version")
                return self.register(
                    adopted,
                    model=model,
                    actor=actor,
                    aliases_to_set=aliases_to_set,
                    reason=reason,
                    progress=progress,
                    allow_code=allow_code,
                )
        sizes = version_files(folder)
        manifest = read_manifest(folder)
        check_manifest_paths(manifest, sizes)
        if manifest.flavor == "mlflow":
            manifest = with_mlmodel(folder, manifest)
        manifest = with_packages(manifest)
        name = check_name("model", model or manifest.name or "")
        for alias in aliases_to_set:
            check_name("alias", alias)
        flavor = self.flavors.get(manifest.flavor)
        if not allow_code and _carries_code(flavor, manifest):
            raise Forbidden(
                f"This {manifest.flavor}-flavor version runs its own code in the server when "
                "loaded (a python class, a pickle or trusted_types beyond scikit-learn, NumPy "
                "and SciPy), and this server does not take code over HTTP. Its operator can "
                "allow it with CHAMPION_ALLOW_CODE_UPLOADS=true (an admin token is then needed "
                "where tokens exist), or register the folder on the server's machine with "
                "'champion models register FOLDER'."
            )
        flavor.check(folder, manifest, self.options)
        writes = [w for hook in self._hooks if (w := hook(folder, manifest)) is not None]
        size = sum(sizes.values())
        files = store_files(self.engine, self.store, folder, sizes, progress)
        # Two writers may pick the same next number on PostgreSQL; the unique key refuses one.
        for attempt in range(5):
            try:
                number = self._insert_version(
                    name, manifest, files, size, actor, aliases_to_set, reason, writes
                )
                break
            except sa.exc.IntegrityError:
                if attempt == 4:
                    collect_garbage(self.engine, self.store, files.values())
                    raise
            except BaseException:
                collect_garbage(self.engine, self.store, files.values())
                raise
        restore_missing(self.store, folder, files)
        return self.get_version(name, number)

    def compile(
        self,
        ref: str | VersionRef,
        *,
        actor: str,
        sample: pd.DataFrame | None = None,
        tolerance: float = DEFAULT_TOLERANCE,
        aliases_to_set: tuple[str, ...] = (),
        reason: str = "",
    ) -> Compilation:
        """Compile the sklearn version ``ref`` to ONNX and register it as the next version.

        Versions are immutable, so the compiled one is new: the same files plus
        ``model.onnx``, flavor ``onnx``, its lineage naming the version and file it was
        derived from and the largest output difference on the rows compared (the version's
        reference data, or ``sample``, and probes between their values). Moving an alias to
        it is the audited switch, and moving it back undoes it. A model skl2onnx cannot
        convert, or whose outputs differ by more than ``tolerance`` (or in any label), is not
        registered: the answer says why.
        """
        source = self.resolve(ref)
        with tempfile.TemporaryDirectory(prefix="champion-compile-") as work:
            folder = self.materialise(source, Path(work) / "version")
            result = compile_folder(
                folder,
                source=str(source.key),
                options=self.options,
                sample=sample,
                tolerance=tolerance,
            )
            if not result.compiled:
                return result
            version = self.register(
                folder,
                model=source.model,
                actor=actor,
                aliases_to_set=aliases_to_set,
                reason=reason or f"compiled from {source.key}",
            )
        return dataclasses.replace(result, version=version)

    def _insert_version(
        self,
        name: str,
        manifest: Manifest,
        files: dict[str, str],
        size: int,
        actor: str,
        aliases_to_set: tuple[str, ...],
        reason: str,
        writes: list[RegistrationWrite],
    ) -> int:
        now = self.clock.now()
        with write(self.engine) as conn:
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
                self._set_alias(conn, name, alias, number, actor, reason)
            for write_rows in writes:
                write_rows(conn, VersionKey(name, int(number)), actor, now)
        return int(number)

    def set_alias(
        self,
        model: str,
        alias: str,
        number: int,
        *,
        actor: str,
        reason: str = "",
        conn: sa.Connection | None = None,
    ) -> Version:
        """Point ``model@alias`` at version ``number``, creating or moving the alias; with
        ``conn``, inside the caller's write transaction."""
        check_name("alias", alias)
        if conn is None:
            with write(self.engine) as own:
                return self.set_alias(model, alias, number, actor=actor, reason=reason, conn=own)
        self._version_row(conn, model, number, lock=True)
        self._set_alias(conn, model, alias, number, actor, reason)
        return _version(self._version_row(conn, model, number), self._aliases(conn, model))

    def remove_alias(self, model: str, alias: str, *, actor: str, reason: str = "") -> None:
        with write(self.engine) as conn:
            number = self._alias_number(conn, model, alias)
            conn.execute(
                aliases.delete().where((aliases.c.model == model) & (aliases.c.alias == alias))
            )
            audit.record(
                conn,
                at=self.clock.now(),
                actor=actor,
                action="alias.remove",
                target=model,
                details={"alias": alias, "was": number},
                reason=reason,
            )

    def delete_version(self, model: str, number: int, *, actor: str, reason: str = "") -> Version:
        """Delete version ``number`` of ``model``: refused (409) while an alias points at it or
        an endpoint serves it. Its row stays, marked deleted, so its number is never given
        again and its lineage stays in the audit log; its blobs that no other version shares
        leave the artifact store."""
        key = VersionKey(model, number)
        with write(self.engine) as conn:
            row = self._version_row(conn, model, number, lock=True)
            version = _version(row, self._aliases(conn, model))
            if version.aliases:
                listed = ", ".join(f"{model}@{a}" for a in version.aliases)
                raise Conflict(
                    f"Version {key} cannot be deleted: {listed} points at it. Move or remove "
                    f"the alias first (champion alias rm {model} {version.aliases[0]})."
                )
            users = sorted({user for guard in self._guards for user in guard(conn, key)})
            if users:
                raise Conflict(
                    f"Version {key} cannot be deleted: {', '.join(users)} serves it. "
                    "Point the endpoint at another version first."
                )
            now = self.clock.now()
            conn.execute(
                versions.update()
                .where((versions.c.model == model) & (versions.c.number == number))
                .values(deleted_at=now, deleted_by=actor)
            )
            audit.record(
                conn,
                at=now,
                actor=actor,
                action="version.delete",
                target=str(key),
                details={"files": len(version.files), "size_bytes": version.size_bytes},
                reason=reason,
            )
        collect_garbage(self.engine, self.store, version.files.values())
        return version

    def _set_alias(
        self, conn: sa.Connection, model: str, alias: str, number: int, actor: str, reason: str
    ) -> None:
        now = self.clock.now()
        where = (aliases.c.model == model) & (aliases.c.alias == alias)
        previous = conn.execute(sa.select(aliases.c.number).where(where)).scalar_one_or_none()
        if previous is None:
            conn.execute(
                aliases.insert().values(
                    model=model, alias=alias, number=number, updated_at=now, updated_by=actor
                )
            )
        else:
            conn.execute(
                aliases.update()
                .where(where)
                .values(number=number, updated_at=now, updated_by=actor)
            )
        audit.record(
            conn,
            at=now,
            actor=actor,
            action="alias.set",
            target=model,
            details={"alias": alias, "version": number, "was": previous},
            reason=reason,
        )

    # -- reading -------------------------------------------------------------------------

    def list_models(self) -> list[Model]:
        with read(self.engine) as conn:
            names = conn.execute(sa.select(models.c.name).order_by(models.c.name)).scalars()
            return [self._model(conn, name) for name in names]

    def get_model(self, name: str) -> Model:
        with read(self.engine) as conn:
            return self._model(conn, name)

    def list_versions(self, model: str) -> list[Version]:
        with read(self.engine) as conn:
            self._model(conn, model)
            alias_map = self._aliases(conn, model)
            rows = conn.execute(
                sa.select(versions)
                .where((versions.c.model == model) & versions.c.deleted_at.is_(None))
                .order_by(versions.c.number)
            )
            return [_version(row._mapping, alias_map) for row in rows]

    def find_versions(
        self,
        model: str,
        flt: VersionFilter | None = None,
        *,
        limit: int = 100,
        cursor: str | None = None,
    ) -> VersionPage:
        """A page of ``model``'s versions, newest first, that pass ``flt``; pass the page's
        ``next_cursor`` back for the next one. See ``champion.registry.listing``."""
        flt = flt or VersionFilter()
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit: must be between 1 and {MAX_PAGE}, got {limit!r}.")
        before = None if cursor is None else decode_cursor(cursor)
        with read(self.engine) as conn:
            self._exists(conn, model)
            alias_map = self._aliases(conn, model)
            alias_number = None
            if flt.alias is not None:
                alias_number = self._alias_number(conn, model, flt.alias)
            query = select_page(model, flt, alias_number, before, limit)
            rows = [row._mapping for row in conn.execute(query)]
        found = [_version(row, alias_map) for row in rows[:limit]]
        more = len(rows) > limit
        return VersionPage(found, encode_cursor(found[-1].number) if more else None)

    def get_version(self, model: str, number: int) -> Version:
        with read(self.engine) as conn:
            row = self._version_row(conn, model, number)
            return _version(row, self._aliases(conn, model))

    def resolve(self, ref: str | VersionRef) -> Version:
        """The version ``recs/3`` or ``recs@champion`` points at now."""
        parsed = VersionRef.parse(ref) if isinstance(ref, str) else ref
        with read(self.engine) as conn:
            number = parsed.number
            if parsed.alias is not None:
                number = self._alias_number(conn, parsed.model, parsed.alias)
            assert number is not None  # VersionRef always has a number or an alias
            row = self._version_row(conn, parsed.model, number)
            return _version(row, self._aliases(conn, parsed.model))

    def materialise(self, version: Version, destination: Path) -> Path:
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
                    source = self.store.open(expected)
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

    # -- helpers -------------------------------------------------------------------------

    def _model(self, conn: sa.Connection, name: str) -> Model:
        row = conn.execute(sa.select(models).where(models.c.name == name)).first()
        if row is None:
            known = conn.execute(sa.select(models.c.name).order_by(models.c.name)).scalars().all()
            raise NotFound(f"Unknown model {name!r}. Models: {', '.join(known) or '(none)'}.")
        latest, count = conn.execute(
            sa.select(sa.func.max(versions.c.number), sa.func.count()).where(
                (versions.c.model == name) & versions.c.deleted_at.is_(None)
            )
        ).one()
        return Model(
            name=name,
            created_at=row.created_at,
            created_by=row.created_by,
            latest=latest,
            version_count=count,
            aliases=self._aliases(conn, name),
        )

    def _exists(self, conn: sa.Connection, name: str) -> None:
        # _model without the counts: a page of 10^5 versions need not count them.
        if conn.execute(sa.select(models.c.name).where(models.c.name == name)).first() is None:
            self._model(conn, name)  # raises NotFound with the known names

    def _aliases(self, conn: sa.Connection, model: str) -> dict[str, int]:
        rows = conn.execute(
            sa.select(aliases.c.alias, aliases.c.number)
            .where(aliases.c.model == model)
            .order_by(aliases.c.alias)
        )
        return {alias: number for alias, number in rows}

    def _alias_number(self, conn: sa.Connection, model: str, alias: str) -> int:
        self._exists(conn, model)
        found = self._aliases(conn, model)
        if alias not in found:
            raise NotFound(
                f"Unknown alias {alias!r} on model {model!r}. "
                f"Aliases: {', '.join(found) or '(none)'}."
            )
        return found[alias]

    def _version_row(
        self, conn: sa.Connection, model: str, number: int, *, lock: bool = False
    ) -> Any:
        self._exists(conn, model)
        query = sa.select(versions).where(
            (versions.c.model == model) & (versions.c.number == number)
        )
        # Pointing an alias at a version and deleting it both lock its row (PostgreSQL; SQLite
        # writes one at a time): neither can act on what the other is changing.
        row = conn.execute(query.with_for_update() if lock else query).first()
        if row is None or row.deleted_at is not None:
            latest = conn.execute(
                sa.select(sa.func.max(versions.c.number)).where(
                    (versions.c.model == model) & versions.c.deleted_at.is_(None)
                )
            ).scalar_one()
            gone = (
                ""
                if row is None
                else f" (deleted {row.deleted_at:%Y-%m-%d %H:%M} UTC by {row.deleted_by})"
            )
            raise NotFound(
                f"Unknown version {model}/{number}{gone}. Latest version of {model!r}: {latest}."
            )
        return row._mapping


def _version(row: Any, alias_map: dict[str, int]) -> Version:
    return Version(
        model=row["model"],
        number=row["number"],
        kind=row["kind"],
        flavor=row["flavor"],
        manifest=row["manifest"],
        files=row["files"],
        size_bytes=row["size_bytes"],
        created_at=row["created_at"],
        created_by=row["created_by"],
        aliases=tuple(a for a, n in alias_map.items() if n == row["number"]),
    )


def _carries_code(flavor: Flavor, manifest: Manifest) -> bool:
    carries = getattr(flavor, "carries_code", None)
    # A plugin flavor written before the question existed cannot vouch for itself.
    return True if carries is None else bool(carries(manifest))
