"""What each version of an endpoint served in a window and what users did with it (the
``/stats`` route, the CLI's stats and the experiment's per-version table): the per-version
sums the fold pass keeps, or the rollups' over a window, plus what is not folded yet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from champion.events import sketch
from champion.events.aggregates import Scope, pending, sketches, where
from champion.events.facts import Facts
from champion.events.rollup_tables import CREDITED, MERGED, rollups
from champion.events.total_tables import VERSION_SUMS, version_totals, version_units
from champion.events.totals import built

__all__ = ["VersionStats", "version_stats"]


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
    """Per version and arm, over ``[start, end)`` (folded segments by their start; see
    ``aggregates``).

    Requests count the version that answered; impressions, clicks and purchases of an item
    count the version each shown item is credited to (under interleaving, both teams of one
    request), so the versions' numbers add up to the interleaving comparison's. Latency
    percentiles come from histograms, within ``sketch.ACCURACY`` (1 %).

    In a compacted segment (``compaction``) a version's units are those its merged rows
    counted: each unit once per segment and configuration.
    """
    scope = Scope(endpoint, start=start, end=end)
    facts = pending(conn, scope)
    by = ("model", "version", "arm")
    names = ("requests", "failed", *CREDITED)
    stats = _version_totals(conn, scope, names, facts)
    latency = sketches(conn, scope, by, "latency", facts)
    result = []
    for (model, version, arm), values in sorted(stats.items()):
        if values[0] <= 0 and values[2] <= 0 and values[-2] <= 0:
            continue  # no request, impression or feedback of this version (a zero delta)
        got = dict(zip((*names, "units"), values, strict=True))
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
    conn: sa.Connection, scope: Scope, names: tuple[str, ...], facts: Facts
) -> dict[tuple[str, int, str], list[float]]:
    # Per (model, version, arm): the sums of ``names``, then the units with a request it
    # answered, counted in the database (a compacted row adds the units it merged); the
    # pending facts add their sums, and a unit once only if its folded rows hold no request
    # answered by that version.
    r = rollups
    by = (r.c.model, r.c.version, r.c.arm)
    # All time: the totals the fold pass keeps per version (O(versions) rows).
    kept = scope.start is None and scope.end is None and names == VERSION_SUMS and built(conn)
    if kept:
        v = version_totals
        query = sa.select(
            v.c.model, v.c.version, v.c.arm, *(v.c[name] for name in names), v.c.units
        ).where(v.c.endpoint == scope.endpoint)
    else:
        answered = sa.case(((r.c.requests > 0) & (r.c.unit != MERGED), r.c.unit))
        merged = sa.func.sum(sa.case((r.c.unit == MERGED, r.c.units), else_=0))
        query = (
            sa.select(
                *by,
                *(sa.func.sum(r.c[name]) for name in names),
                sa.func.count(sa.distinct(answered)) + sa.func.coalesce(merged, 0),
            )
            .where(where(r, scope))
            .group_by(*by)
        )
    stats = {
        (str(row[0]), int(row[1]), str(row[2])): [float(v or 0) for v in row[3:]]
        for row in conn.execute(query)
    }
    late: dict[tuple[str, int, str, str], float] = {}
    for key, values in facts.sums.get("rollups", {}).items():
        group = (str(key[3]), int(key[4]), str(key[2]))
        into = stats.setdefault(group, [0.0] * (len(names) + 1))
        for n, name in enumerate(names):
            into[n] += values.get(name, 0)
        if values.get("requests", 0) > 0:
            late[(*group, str(key[5]))] = 1.0
    units = sorted({unit for *_, unit in late})
    for start in range(0, len(units), 500):
        chunk = units[start : start + 500]
        if kept:
            u = version_units
            counted = sa.select(u.c.model, u.c.version, u.c.arm, u.c.unit).where(
                (u.c.endpoint == scope.endpoint) & u.c.unit.in_(chunk)
            )
        else:
            # By the unit index (see ``aggregates.unindexed``).
            counted = (
                sa.select(*by, r.c.unit)
                .where(where(r, scope, indexed=False) & r.c.unit.in_(chunk))
                .where(r.c.requests > 0)
                .distinct()
            )
        for model, version, arm, unit in conn.execute(counted):
            late.pop((str(model), int(version), str(arm), str(unit)), None)
    for model, version, arm, _ in late:
        stats[(model, version, arm)][-1] += 1
    return stats
