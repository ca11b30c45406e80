"""Where a read's times cut a folded segment, and which time ranges it reads from raw rows.

A scope's start and end and a chart's inner edges are *cuts*. :func:`exact` finds, for each
cut, the segment holding it from the segments the endpoint has and the boundaries known
without a segment length (UTC midnights, the endpoint's experiments' starts and ends; see
``aggregates``) and returns the scope with the ranges to read from the raw rows. A
range whose raw rows retention has deleted is left out (its segment counts whole in the
window holding its start) and listed in :attr:`Cuts.whole`.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from champion.clock import utc
from champion.events.aggregates import Looks, Scope, raw_facts, snapshot_cache
from champion.events.retention_status import deleted_before
from champion.events.rollup_tables import rollups
from champion.events.rollups import DAY, segment_floor
from champion.events.totals import experiment_bounds

__all__ = ["Cuts", "chart_edges", "cuts", "exact", "looks", "merged", "snap_back"]

Range = tuple[datetime, datetime]


@dataclass(frozen=True)
class Cuts:
    """A scope with its raw ranges set, and the segments (start, the next segment's start
    or the next boundary known) a cut falls in that count whole in the window holding their
    start, because retention deleted their raw rows."""

    scope: Scope
    whole: tuple[Range, ...] = ()


def chart_edges(
    start: datetime, end: datetime, buckets: int, segment: timedelta = DAY
) -> list[datetime]:
    """The edges of ``buckets`` equal windows of ``[start, end)``; when a window is at least
    a ``segment`` wide, the edges between windows move back to the segment boundary at or
    before them (each stays after the one before), so only the first and the last window
    read a partial segment from raw rows.

    >>> t = datetime(2026, 3, 1, 7, tzinfo=UTC)
    >>> [e.day * 100 + e.hour for e in chart_edges(t, t + timedelta(days=3), 3)]
    [107, 200, 300, 407]
    """
    width = (end - start) / buckets
    inner = [start + width * k for k in range(1, buckets)]
    if width >= segment:
        inner = [segment_floor(edge, segment) for edge in inner]
    return [start, *inner, end]


def snap_back(
    conn: sa.Connection, endpoint: str, times: Sequence[datetime], after: datetime
) -> list[datetime]:
    """Each of ``times`` (increasing, after ``after``) moved back to the start of the folded
    segment holding it, when that start is after the time before it (``after`` for the
    first): a timeline's points then read whole segments, and only those too close together
    to move cut a segment (read from its raw rows)."""
    bounds = experiment_bounds(conn, [endpoint])[endpoint]
    r = rollups
    found: list[datetime] = []
    previous = utc(after)
    for at in (utc(t) for t in times):
        floor, _ = _known(at, bounds)
        start = conn.execute(
            sa.select(sa.func.max(r.c.segment_start)).where(
                (r.c.endpoint == endpoint)
                & (r.c.segment_start >= floor)
                & (r.c.segment_start <= at)
            )
        ).scalar_one()
        moved = at if start is None or utc(start) <= previous else utc(start)
        found.append(moved)
        previous = moved
    return found


def looks(conn: sa.Connection, scope: Scope, ends: Sequence[datetime | None]) -> Looks | None:
    """The :class:`~champion.events.aggregates.Looks` of ``scope`` cut at each of ``ends``
    (increasing; only the last may be None) when some end cuts a segment, with the raw rows
    of every range cut read once; None when none does, or when the scope's start cuts one
    (each look then reads its own)."""
    scopes = [exact(conn, replace(scope, end=end)) for end in ends]
    if not any(look.raw for look in scopes) or exact(conn, replace(scope, end=None)).raw:
        return None
    snapped: list[datetime | None] = []
    for end, look in zip(ends, scopes, strict=True):
        if look.raw and (len(look.raw) > 1 or end is None or look.raw[0][1] != utc(end)):
            return None  # not only its end's range (a start inside a segment)
        snapped.append(look.raw[0][0] if look.raw else end)
    ranges = merged([r for look in scopes for r in look.raw])
    return Looks(ends, snapped, scopes, raw_facts(conn, scope.endpoint, ranges))


def exact(conn: sa.Connection, scope: Scope, inner: Sequence[datetime] = ()) -> Scope:
    """``scope`` read exactly at its start and end and at each of ``inner`` (a chart's
    inner edges) while the raw rows of the segments cut there exist (see :func:`cuts`)."""
    return cuts(conn, scope, inner).scope


def cuts(conn: sa.Connection, scope: Scope, inner: Sequence[datetime] = ()) -> Cuts:
    """The :class:`Cuts` of ``scope`` at its start, its end and each of ``inner``; kept for
    the transaction."""
    times = sorted({utc(t) for t in (scope.start, *inner, scope.end) if t is not None})
    cache = snapshot_cache(conn)
    key = ("cuts", scope.endpoint, scope.start, scope.end, tuple(times))
    found: tuple[tuple[Range, ...], tuple[Range, ...]] | None = cache.get(key)
    if found is None:
        found = _ranges(conn, scope, times)
        cache[key] = found
    raw, whole = found
    return Cuts(replace(scope, raw=raw), whole)


def _ranges(
    conn: sa.Connection, scope: Scope, times: Sequence[datetime]
) -> tuple[tuple[Range, ...], tuple[Range, ...]]:
    r = rollups
    ours = r.c.endpoint == scope.endpoint
    bounds = experiment_bounds(conn, [scope.endpoint])[scope.endpoint]
    ranges: list[Range] = []
    whole: list[Range] = []
    deleted: datetime | None = None
    for cut in times:
        # The boundaries known without a segment length: UTC midnights and the endpoint's
        # experiments' starts and ends. No segment holding the cut starts before the last
        # one at or before it, nor ends after the first one after it.
        floor, ceiling = _known(cut, bounds)
        if floor == cut:
            continue
        before = conn.execute(
            sa.select(sa.func.max(r.c.segment_start)).where(
                ours & (r.c.segment_start >= floor) & (r.c.segment_start <= cut)
            )
        ).scalar_one()
        if before is None or utc(before) == cut:
            continue  # no folded segment holds the cut, or one starts there
        after = conn.execute(
            sa.select(sa.func.min(r.c.segment_start)).where(
                ours & (r.c.segment_start > cut) & (r.c.segment_start < ceiling)
            )
        ).scalar_one()
        low, high = utc(before), ceiling if after is None else utc(after)
        start = low if scope.start is None else max(low, utc(scope.start))
        end = high if scope.end is None else min(high, utc(scope.end))
        if start >= end:
            continue
        if deleted is None:
            deleted = max((t for t in deleted_before(conn).values() if t), default=_NEVER)
        if start < deleted:
            whole.append((low, high))
        else:
            ranges.append((start, end))
    return merged(ranges), tuple(dict.fromkeys(whole))


def _known(cut: datetime, bounds: Sequence[datetime]) -> tuple[datetime, datetime]:
    midnight = cut.replace(hour=0, minute=0, second=0, microsecond=0)
    floor, ceiling = midnight, midnight + timedelta(days=1)
    index = bisect.bisect_right(bounds, cut)
    if index > 0:
        floor = max(floor, utc(bounds[index - 1]))
    if index < len(bounds):
        ceiling = min(ceiling, utc(bounds[index]))
    return floor, ceiling


_NEVER = datetime.min.replace(tzinfo=UTC)


def merged(ranges: Sequence[Range]) -> tuple[Range, ...]:
    """``ranges`` joined where they overlap or touch, in order."""
    found: list[Range] = []
    for start, end in sorted(ranges):
        if found and start <= found[-1][1]:
            found[-1] = (found[-1][0], max(found[-1][1], end))
        else:
            found.append((start, end))
    return tuple(found)
