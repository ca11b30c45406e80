"""Which windows were compacted, for the reads that need each unit's own numbers.

A compacted segment (see ``compaction``) keeps its sums per arm only. A read that needs per-unit
rows, labels or clicked positions asks :func:`require_units` first, so it answers
:class:`~champion.errors.Compacted` naming the window instead of a number from a subset.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from champion.clock import utc
from champion.errors import Compacted
from champion.events.rollup_tables import compacted_segments

__all__ = ["compacted_windows", "require_units"]


def compacted_windows(
    conn: sa.Connection, endpoint: str, start: datetime | None, end: datetime | None
) -> list[tuple[datetime, datetime]]:
    """The compacted segments of ``endpoint`` that overlap ``[start, end)``, oldest first."""
    c = compacted_segments
    query = sa.select(c.c.segment_start, c.c.segment_end).where(c.c.endpoint == endpoint)
    if start is not None:
        query = query.where(c.c.segment_end > start)
    if end is not None:
        query = query.where(c.c.segment_start < end)
    return [(utc(a), utc(b)) for a, b in conn.execute(query.order_by(c.c.segment_start))]


def require_units(
    conn: sa.Connection, endpoint: str, start: datetime | None, end: datetime | None, what: str
) -> None:
    """Raise :class:`~champion.errors.Compacted` when ``what`` (which needs per-unit rows,
    or label and click rows) would read a compacted segment of ``[start, end)``."""
    windows = compacted_windows(conn, endpoint, start, end)
    if not windows:
        return
    first, last = windows[0][0], windows[-1][1]
    raise Compacted(
        f"{what} needs each unit's own numbers, but endpoint {endpoint!r} has per-arm "
        f"totals only from {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC: its per-unit "
        f"rows, labels and clicked positions were compacted past CHAMPION_KEEP_UNIT_ROLLUPS. "
        f"Sums, rates and percentiles of that window remain (GET /v1/endpoints/{endpoint}/"
        f"stats); ask for a window from {last:%Y-%m-%d %H:%M} UTC on for unit-level answers."
    )
