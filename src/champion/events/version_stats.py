"""What each version of an endpoint served in a window and what users did with it (the
``/stats`` route, the CLI's stats and the experiment's per-version table): the per-version
sums the fold pass keeps, or the rollups' over a window, plus what is not folded yet. A
chart's consecutive windows (``/stats?buckets=``) are read in one pass."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from champion.errors import InvalidInput
from champion.events import sketch
from champion.events.aggregates import (
    Histograms,
    Scope,
    by_window,
    pending,
    per_window,
    sketches_by_window,
    stretch,
    where,
)
from champion.events.cuts import exact
from champion.events.facts import Facts
from champion.events.rollup_tables import MERGED, VERSION_SUMS, rollups
from champion.events.slot_stats import slot_windows
from champion.events.total_tables import (
    version_sketches,
    version_totals,
    version_units,
)
from champion.events.totals import built

__all__ = ["VersionStats", "version_stats", "version_stats_by_window"]

Group = tuple[str, int, str]
Late = set[tuple[str, int, str, str, int]]


@dataclass(frozen=True)
class VersionStats:
    """What one version served in a window and what users did with it."""

    model: str
    version: int
    arm: str
    requests: int
    units: int
    impressions: int
    clicked_impressions: int
    clicks: int
    purchases: int
    labels: int
    value: float
    requests_with_feedback: int
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    fallbacks: int = 0
    """Requests this version answered because the version assigned to them failed."""

    @property
    def ctr(self) -> float | None:
        """Share of shown items that were clicked (rankings only)."""
        return self.clicked_impressions / self.impressions if self.impressions else None

    @property
    def coverage(self) -> float | None:
        """Share of requests with at least one feedback event."""
        return self.requests_with_feedback / self.requests if self.requests else None


def version_stats(
    conn: sa.Connection, endpoint: str, start: datetime | None = None, end: datetime | None = None
) -> list[VersionStats]:
    """Per version and arm, over ``[start, end)`` (exact at any start and end while the raw
    rows of the segments they cut exist; see ``aggregates``).

    Requests count the version that answered; impressions, clicks and purchases of an item
    count the version each shown item is credited to (under interleaving, both teams of one
    request), so the versions' numbers add up to the interleaving comparison's. Latency
    percentiles come from histograms, within ``sketch.ACCURACY`` (1 %).

    In a compacted segment (``compaction``) a version's units are those its merged rows
    counted: each unit once per segment and configuration.
    """
    return version_stats_by_window(conn, endpoint, [start, end])[0]


def version_stats_by_window(
    conn: sa.Connection, endpoint: str, edges: Sequence[datetime | None]
) -> list[list[VersionStats]]:
    """:func:`version_stats` of each window between consecutive ``edges`` (increasing; only
    the first and the last may be None), in one pass: the pending facts are computed once
    and put in the window of their request's time, and each read of the rollups is one
    query grouped by window (a folded row in the window of its segment's start; the segments
    an edge cuts are read from raw rows, see ``aggregates``), so a chart of many windows
    costs about what one window does.

    Raises
    ------
    InvalidInput
        With fewer than two ``edges``, or edges that do not increase.
    """
    _check(edges)
    inner = [edge for edge in edges[1:-1] if edge is not None]
    scope = exact(conn, Scope(endpoint, start=edges[0], end=edges[-1]), inner)
    # The ranges read per slot keep their pending facts; the others are read raw.
    slots = slot_windows(conn, scope, edges)
    raw = tuple(r for r in scope.raw if r not in slots.ranges)
    windows = by_window(pending(conn, replace(scope, raw=raw)), edges)
    ends = edges[1:]
    # One window over all time, with the kept tables built: O(versions) rows to read.
    kept = len(ends) == 1 and scope.start is None and scope.end is None and built(conn)
    stats = _version_totals(conn, scope, ends, windows, kept, set(slots.windows))
    for n, groups in slots.sums(conn).items():
        for group, values in groups.items():
            into = stats[n].setdefault(group, [0.0] * len(values))
            stats[n][group] = [x + y for x, y in zip(into, values, strict=True)]
    by = ("model", "version", "arm")
    folded = _kept_latency(conn, scope) if kept else None
    latency = sketches_by_window(conn, scope, ends, by, "latency", windows, folded)
    for n, histograms in slots.latency(conn).items():
        for group, counts in histograms.items():
            histogram = latency[n].setdefault(group, {})
            for bucket, count in counts.items():
                histogram[bucket] = histogram.get(bucket, 0) + count
    return [_rows(*window) for window in zip(stats, latency, strict=True)]


def _kept_latency(conn: sa.Connection, scope: Scope) -> list[Histograms]:
    # The latency histogram the fold pass keeps per version over all time.
    k = version_sketches
    found: Histograms = {}
    query = sa.select(k.c.model, k.c.version, k.c.arm, k.c.bucket, k.c.count).where(
        k.c.endpoint == scope.endpoint
    )
    for model, version, arm, bucket, count in conn.execute(query):
        found.setdefault((str(model), int(version), str(arm)), {})[int(bucket)] = round(count)
    return [found]


def _check(edges: Sequence[datetime | None]) -> None:
    inner = list(edges[1:-1])
    if len(edges) < 2 or None in inner:
        raise InvalidInput(
            f"The 'edges' parameter of version_stats_by_window must be two or more times, only "
            f"the first and the last may be None. Got {list(edges)!r} instead."
        )
    known = [edge for edge in edges if edge is not None]
    if any(a >= b for a, b in itertools.pairwise(known)):
        raise InvalidInput(
            f"The 'edges' parameter of version_stats_by_window must increase. Got "
            f"{[edge.isoformat() for edge in known]!r} instead."
        )


def _rows(stats: dict[Group, list[float]], latency: Histograms) -> list[VersionStats]:
    result = []
    for (model, version, arm), values in sorted(stats.items()):
        if values[0] <= 0 and values[2] <= 0 and values[-2] <= 0:
            continue  # no request, impression or feedback of this version (a zero delta)
        got = dict(zip((*VERSION_SUMS, "units"), values, strict=True))
        counts = latency.get((model, version, arm), {})
        result.append(
            VersionStats(
                model=model,
                version=version,
                arm=arm,
                requests=round(got["requests"]),
                units=round(got["units"]),
                impressions=round(got["credited_impressions"]),
                clicked_impressions=round(got["credited_clicked"]),
                clicks=round(got["credited_clicks"]),
                purchases=round(got["credited_purchases"]),
                labels=round(got["credited_labels"]),
                value=got["credited_value"],
                requests_with_feedback=round(got["credited_with_feedback"]),
                latency_p50_ms=sketch.quantile(counts, 0.5),
                latency_p99_ms=sketch.quantile(counts, 0.99),
                fallbacks=round(got["failed"]),
            )
        )
    return result


def _version_totals(
    conn: sa.Connection,
    scope: Scope,
    ends: Sequence[datetime | None],
    windows: Sequence[Facts],
    kept: bool,
    per_slot: set[int],
) -> list[dict[Group, list[float]]]:
    # Per window and (model, version, arm): the sums of ``VERSION_SUMS``, then the units with a
    # request it answered, counted in the database (a compacted row adds the units it
    # merged); each window's pending facts add their sums, and a unit once only if its
    # folded rows in that window hold no request answered by that version. ``kept``: all
    # time, from the totals the fold pass keeps per version (O(versions) rows). The windows
    # ``per_slot`` count their units in the raw rows (``slot_stats``), not here.
    names = VERSION_SUMS
    r = rollups
    by = (r.c.model, r.c.version, r.c.arm)
    if kept:
        v = version_totals
        columns = (v.c.model, v.c.version, v.c.arm, sa.literal(0), *(v.c[n] for n in names))
        query: sa.Select[Any] | sa.CompoundSelect[Any] = sa.select(*columns, v.c.units).where(
            v.c.endpoint == scope.endpoint
        )
    else:
        answered = sa.case(((r.c.requests > 0) & (r.c.unit != MERGED), r.c.unit))
        merged = sa.func.sum(sa.case((r.c.unit == MERGED, r.c.units), else_=0))
        # Built once for every window's part: building them is most of a chart's cost when
        # its windows hold few rows.
        sums = [
            *(sa.func.sum(r.c[name]) for name in names),
            sa.func.count(sa.distinct(answered)) + sa.func.coalesce(merged, 0),
        ]

        def window(inside: Scope, n: sa.ColumnElement[int]) -> sa.Select[Any]:
            return sa.select(*by, n, *sums).where(where(r, inside)).group_by(*by)

        query = per_window(scope, ends, window)
    stats: list[dict[Group, list[float]]] = [{} for _ in ends]
    for row in conn.execute(query):
        group = (str(row[0]), int(row[1]), str(row[2]))
        stats[int(row[3])][group] = [float(v or 0) for v in row[4:]]
    late: Late = set()
    for n, facts in enumerate(windows):
        for key, values in facts.sums.get("rollups", {}).items():
            group = (str(key[3]), int(key[4]), str(key[2]))
            into = stats[n].setdefault(group, [0.0] * (len(names) + 1))
            for i, name in enumerate(names):
                into[i] += values.get(name, 0)
            if values.get("requests", 0) > 0 and n not in per_slot:
                late.add((*group, str(key[5]), n))
    for model, version, arm, _, n in late - _answered(conn, scope, ends, kept, late):
        stats[n][(model, version, arm)][-1] += 1
    return stats


def _answered(
    conn: sa.Connection, scope: Scope, ends: Sequence[datetime | None], kept: bool, late: Late
) -> Late:
    # Of the (model, version, arm, unit, window) with a pending request, those whose unit
    # has a folded request answered by that version in that window.
    units = sorted({unit for *_, unit, _ in late})
    if not units:
        return set()
    r = rollups
    by = (r.c.model, r.c.version, r.c.arm)
    k = stretch(r.c.segment_start, ends)
    found: Late = set()
    for start in range(0, len(units), 500):
        chunk = units[start : start + 500]
        if kept:
            u = version_units
            counted = sa.select(u.c.model, u.c.version, u.c.arm, u.c.unit, sa.literal(0)).where(
                (u.c.endpoint == scope.endpoint) & u.c.unit.in_(chunk)
            )
        else:
            # By the unit index (see ``aggregates.unindexed``).
            counted = (
                sa.select(*by, r.c.unit, k)
                .where(where(r, scope, indexed=False) & r.c.unit.in_(chunk))
                .where(r.c.requests > 0)
                .distinct()
            )
        for model, version, arm, unit, n in conn.execute(counted):
            found.add((str(model), int(version), str(arm), str(unit), int(n)))
    return found
