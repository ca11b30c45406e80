"""The per-minute ``/stats`` sums the fold pass keeps for the last day, and since when.

A chart of windows narrower than a segment (the endpoint page's last 20 minutes, segments
of an hour) cuts the current segment at every edge, and a cut segment's part of a window is
read from its raw rows: about 40 µs a request in Python, so at a few hundred requests a
second the page's charts took seconds. The fold pass also adds each request's ``/stats`` sums
and latency to its minute (``minute_rollups``, ``minute_sketches``, keyed by the request's
own time), so a window whose edges are whole minutes reads them instead (``minute_stats``).

The tables hold every folded request of the minutes from :func:`kept_since` on, and the fold
pass adds none before it: a database upgraded with events already folded has them from its
next minute on, the server's fold loop deletes the rows older than :data:`KEPT_FOR` after
each pass, and a rebuild refolds only the last day's (older windows read raw rows, as
before). The ``pending_rebuilds`` row named :data:`NAME` says from when (none: every minute).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from champion.clock import utc
from champion.db.dialects import sum_upsert
from champion.events.rollup_tables import minute_rollups, minute_sketches
from champion.events.total_tables import EPOCH, pending_rebuilds

__all__ = [
    "KEPT_FOR",
    "NAME",
    "keep_all",
    "kept_since",
    "minute_floor",
    "prune",
    "prune_due",
]

NAME = "minute_rollups"
"""The ``pending_rebuilds`` row saying before when the per-minute tables are incomplete."""

KEPT_FOR = timedelta(days=1)
"""How long the server keeps the per-minute rows."""


def minute_floor(at: datetime) -> datetime:
    """The UTC minute holding ``at``."""
    return at.astimezone(UTC).replace(second=0, microsecond=0)


def kept_since(conn: sa.Connection) -> datetime:
    """The first minute from which the per-minute tables hold every folded request."""
    b = pending_rebuilds
    found = conn.execute(sa.select(b.c.since).where(b.c.name == NAME)).scalar_one_or_none()
    return EPOCH if found is None else utc(found)


def keep_all(conn: sa.Connection) -> None:
    """Every minute is kept (the tables were emptied before a refold of every raw row)."""
    conn.execute(pending_rebuilds.delete().where(pending_rebuilds.c.name == NAME))


def prune_due(conn: sa.Connection, now: datetime) -> bool:
    """Whether :func:`prune` at ``now`` has rows to delete: a read, so the fold loop opens
    a write transaction for it once a minute at most."""
    return kept_since(conn) < minute_floor(now - KEPT_FOR)


def prune(conn: sa.Connection, now: datetime) -> None:
    """Delete the per-minute rows older than :data:`KEPT_FOR` before ``now``."""
    if not prune_due(conn, now):
        return
    before = minute_floor(now - KEPT_FOR)
    for table in (minute_rollups, minute_sketches):
        conn.execute(table.delete().where(table.c.minute < before))
    upsert = sum_upsert(pending_rebuilds, conn.dialect.name, latest=("since",))
    upsert(conn, [[NAME, before]])
