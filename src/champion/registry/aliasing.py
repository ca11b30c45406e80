"""Moving aliases: pointing ``model@alias`` at a version, and removing it, each audited."""

from __future__ import annotations

import sqlalchemy as sa

from champion import audit
from champion.clock import Clock
from champion.db import write
from champion.registry.entities import Version, check_name
from champion.registry.reading import alias_number, version_at, version_row
from champion.registry.tables import aliases

__all__ = ["move_alias", "remove_alias", "set_alias"]


def set_alias(
    conn: sa.Connection,
    clock: Clock,
    model: str,
    alias: str,
    number: int,
    *,
    actor: str,
    reason: str,
) -> Version:
    """Point ``model@alias`` at live version ``number`` in ``conn``'s write transaction."""
    check_name("alias", alias)
    version_row(conn, model, number, lock=True)
    move_alias(conn, clock, model, alias, number, actor=actor, reason=reason)
    return version_at(conn, model, number)


def move_alias(
    conn: sa.Connection,
    clock: Clock,
    model: str,
    alias: str,
    number: int,
    *,
    actor: str,
    reason: str,
) -> None:
    """Create ``model@alias`` or move it to ``number``, recording where it was; the caller has
    checked that the version exists."""
    now = clock.now()
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
            aliases.update().where(where).values(number=number, updated_at=now, updated_by=actor)
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


def remove_alias(
    engine: sa.Engine, clock: Clock, model: str, alias: str, *, actor: str, reason: str
) -> None:
    """Remove ``model@alias``; an unknown one is refused naming the model's aliases."""
    with write(engine) as conn:
        number = alias_number(conn, model, alias)
        conn.execute(
            aliases.delete().where((aliases.c.model == model) & (aliases.c.alias == alias))
        )
        audit.record(
            conn,
            at=clock.now(),
            actor=actor,
            action="alias.remove",
            target=model,
            details={"alias": alias, "was": number},
            reason=reason,
        )
