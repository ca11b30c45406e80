"""The ``/stats`` sums per ten seconds the fold pass keeps for the last day, and since when.

A chart of windows narrower than a segment (the endpoint page's last 20 windows of ten
seconds or a minute, segments of an hour) cuts the current segment at every edge, and a cut
segment's part of a window is read from its raw rows: about 40 µs a request in Python, so at
a few hundred requests a second the page's charts took seconds. The fold pass also adds each
request's ``/stats`` sums and latency to its ten-second slot (``slot_rollups``,
``slot_sketches``, keyed by the request's own time), so a window whose edges are slot
boundaries reads them instead (``slot_stats``).

The tables hold every folded request of the slots from :func:`kept_since` on, and the fold
pass adds none before it: a database upgraded with events already folded has them from its
next slot on, the server's fold loop deletes the rows older than :data:`KEPT_FOR` after its
passes, and a rebuild refolds only the last day's (older windows read raw rows, as before).
The ``pending_rebuilds`` row named :data:`NAME` says from when (none: every slot).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from champion.clock import utc
from champion.db.dialects import sum_upsert
from champion.events.rollup_tables import slot_rollups, slot_sketches
from champion.events.total_tables import EPOCH, pending_rebuilds

__all__ = [
    "KEPT_FOR",
    "NAME",
    "SLOT",
    "is_slot_edge",
    "keep_all",
    "kept_since",
    "prune",
    "prune_due",
    "slot_floor",
]

SLOT = timedelta(seconds=10)
"""The length of a slot: the page's windows (10 s, 1 min, 10 min) are whole slots."""

NAME = "slot_rollups"
"""The ``pending_rebuilds`` row saying before when the slot tables are incomplete."""

KEPT_FOR = timedelta(days=1)
"""How long the server keeps the slot rows."""

_SLOT_SECONDS = int(SLOT.total_seconds())


def slot_floor(at: datetime) -> datetime:
    """The start of the UTC slot holding ``at``.

    >>> slot_floor(datetime(2026, 3, 1, 13, 47, 59, 900, tzinfo=UTC))
    datetime.datetime(2026, 3, 1, 13, 47, 50, tzinfo=datetime.timezone.utc)
    """
    at = at.astimezone(UTC)
    return at.replace(second=at.second - at.second % _SLOT_SECONDS, microsecond=0)


def is_slot_edge(at: datetime | None) -> bool:
    """Whether ``at`` starts a slot."""
    return at is not None and slot_floor(at) == at


def kept_since(conn: sa.Connection) -> datetime:
    """The first slot from which the slot tables hold every folded request."""
    b = pending_rebuilds
    found = conn.execute(sa.select(b.c.since).where(b.c.name == NAME)).scalar_one_or_none()
    return EPOCH if found is None else utc(found)


def keep_all(conn: sa.Connection) -> None:
    """Every slot is kept (the tables were emptied before a refold of every raw row)."""
    conn.execute(pending_rebuilds.delete().where(pending_rebuilds.c.name == NAME))


def prune_due(conn: sa.Connection, now: datetime) -> bool:
    """Whether :func:`prune` at ``now`` has rows to delete: a read, so the fold loop opens
    a write transaction for it once a slot at most."""
    return kept_since(conn) < slot_floor(now - KEPT_FOR)


def prune(conn: sa.Connection, now: datetime) -> None:
    """Delete the slot rows older than :data:`KEPT_FOR` before ``now``."""
    if not prune_due(conn, now):
        return
    before = slot_floor(now - KEPT_FOR)
    for table in (slot_rollups, slot_sketches):
        conn.execute(table.delete().where(table.c.slot < before))
    upsert = sum_upsert(pending_rebuilds, conn.dialect.name, latest=("since",))
    upsert(conn, [[NAME, before]])
