"""The registry's one entry point: ``Registry`` registers, reads, aliases and deletes versions.

Each job lives in its own module, which the methods here call with the registry's engine,
artifact store, flavors, clock and load options: registering a folder in
``registration``, reading and resolving in ``reading``, alias moves in ``aliasing``,
deletion in ``deletion``, and a version's files in ``blobs``.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from champion.artifacts import ArtifactStore
from champion.clock import Clock
from champion.db import write
from champion.plugins import Registry as PluginRegistry
from champion.registry import aliasing, blobs, reading
from champion.registry.compiling import DEFAULT_TOLERANCE, Compilation, compile_folder
from champion.registry.deletion import DeletionGuard, delete_version
from champion.registry.entities import Model, Version, VersionKey, VersionRef
from champion.registry.flavors import Flavor, LoadOptions
from champion.registry.listing import VersionFilter, VersionPage
from champion.registry.registration import RegistrationHook, RegistrationWrite, register_folder

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DeletionGuard", "RegistrationHook", "RegistrationWrite", "Registry"]


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
        return register_folder(
            folder,
            engine=self.engine,
            store=self.store,
            flavors=self.flavors,
            clock=self.clock,
            options=self.options,
            hooks=self._hooks,
            model=model,
            actor=actor,
            aliases_to_set=aliases_to_set,
            reason=reason,
            progress=progress,
            allow_code=allow_code,
        )

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
        if conn is None:
            with write(self.engine) as own:
                return self.set_alias(model, alias, number, actor=actor, reason=reason, conn=own)
        return aliasing.set_alias(
            conn, self.clock, model, alias, number, actor=actor, reason=reason
        )

    def remove_alias(self, model: str, alias: str, *, actor: str, reason: str = "") -> None:
        aliasing.remove_alias(self.engine, self.clock, model, alias, actor=actor, reason=reason)

    def delete_version(self, model: str, number: int, *, actor: str, reason: str = "") -> Version:
        """Delete version ``number`` of ``model``: refused (409) while an alias points at it or
        an endpoint serves it. Its row stays, marked deleted, so its number is never given
        again and its lineage stays in the audit log; its blobs that no other version shares
        leave the artifact store."""
        return delete_version(
            self.engine,
            self.store,
            self.clock,
            self._guards,
            VersionKey(model, number),
            actor=actor,
            reason=reason,
        )

    # -- reading -------------------------------------------------------------------------

    def list_models(self) -> list[Model]:
        return reading.list_models(self.engine)

    def get_model(self, name: str) -> Model:
        return reading.get_model(self.engine, name)

    def list_versions(self, model: str) -> list[Version]:
        return reading.list_versions(self.engine, model)

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
        return reading.find_versions(self.engine, model, flt, limit=limit, cursor=cursor)

    def get_version(self, model: str, number: int) -> Version:
        return reading.get_version(self.engine, model, number)

    def resolve(self, ref: str | VersionRef) -> Version:
        """The version ``recs/3`` or ``recs@champion`` points at now."""
        return reading.resolve(self.engine, ref)

    def materialise(self, version: Version, destination: Path) -> Path:
        """Lay the version's files out under ``destination``, checking every sha256 on the way.

        A blob that no longer hashes to what was recorded at registration is refused with the
        name of the file, and nothing of the version is left behind.
        """
        return blobs.materialise(self.store, version, destination)
