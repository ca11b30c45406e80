"""Deleting a version: refused while anything uses it, then marked deleted and its blobs freed.

The row stays, marked deleted, so the version's number is never given again and its lineage
stays in the audit log; its blobs that no other version shares leave the artifact store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeAlias

import sqlalchemy as sa

from champion import audit
from champion.artifacts import ArtifactStore
from champion.clock import Clock
from champion.db import write
from champion.errors import Conflict
from champion.registry.blobs import collect_garbage
from champion.registry.entities import Version, VersionKey
from champion.registry.reading import version_at
from champion.registry.tables import versions

__all__ = ["DeletionGuard", "delete_version"]

DeletionGuard: TypeAlias = Callable[[sa.Connection, VersionKey], list[str]]
"""Names what still uses a version (``endpoint 'recs'``), which keeps it from being deleted."""


def delete_version(
    engine: sa.Engine,
    store: ArtifactStore,
    clock: Clock,
    guards: Sequence[DeletionGuard],
    key: VersionKey,
    *,
    actor: str,
    reason: str,
) -> Version:
    """Delete version ``key`` unless an alias points at it or a guard names a user (409)."""
    model, number = key.model, key.number
    with write(engine) as conn:
        # Locked, so no alias can move onto it while it is being deleted.
        version = version_at(conn, model, number, lock=True)
        if version.aliases:
            listed = ", ".join(f"{model}@{a}" for a in version.aliases)
            raise Conflict(
                f"Version {key} cannot be deleted: {listed} points at it. Move or remove "
                f"the alias first (champion alias rm {model} {version.aliases[0]})."
            )
        users = sorted({user for guard in guards for user in guard(conn, key)})
        if users:
            raise Conflict(
                f"Version {key} cannot be deleted: {', '.join(users)} serves it. "
                "Point the endpoint at another version first."
            )
        now = clock.now()
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
    collect_garbage(engine, store, version.files.values())
    return version
