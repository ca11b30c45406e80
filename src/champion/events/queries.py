"""Predictions and feedback per endpoint, version and time window: the per-version and
per-arm sums from the rollups plus what is not folded yet, and raw rows where a reader
wants the rows themselves (recent predictions, shadow pairs)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from champion.events import sketch
from champion.events.aggregates import Scope, pending, sketches, totals, where
from champion.events.arms import reward_totals
from champion.events.compacted import require_units
from champion.events.facts import Facts
from champion.events.rollup_tables import (
    CREDITED,
    INTERLEAVING,
    MERGED,
    interleaving_rollups,
    rollups,
)
from champion.events.tables import (
    feedback,
    predictions,
    recorded,
    shadow_predictions,
)
from champion.events.total_tables import VERSION_SUMS, version_totals, version_units
from champion.events.totals import built

__all__ = [
    "VersionStats",
    "arm_rewards",
    "feedback_for",
    "interleaved_units",
    "joined_predictions",
    "shadow_pairs",
    "version_stats",
]


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


def _window(query: Any, endpoint: str, start: datetime | None, end: datetime | None) -> Any:
    query = query.where(predictions.c.endpoint == endpoint)
    if start is not None:
        query = query.where(predictions.c.at >= start)
    if end is not None:
        query = query.where(predictions.c.at < end)
    return query


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


def joined_predictions(
    conn: sa.Connection,
    endpoint: str,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """Predictions with their feedback events, newest first."""
    rows = (
        conn.execute(
            _window(sa.select(*recorded(predictions)), endpoint, start, end)
            .order_by(predictions.c.at.desc())
            .limit(limit)
        )
        .mappings()
        .all()
    )
    events = feedback_for(conn, [row["request_id"] for row in rows])
    return [{**row, "feedback": events.get(row["request_id"], [])} for row in rows]


def feedback_for(conn: sa.Connection, request_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for start in range(0, len(request_ids), 500):
        chunk = request_ids[start : start + 500]
        query = (
            sa.select(*recorded(feedback))
            .where(feedback.c.request_id.in_(chunk))
            .order_by(feedback.c.at)
        )
        for row in conn.execute(query).mappings():
            found.setdefault(row["request_id"], []).append(dict(row))
    return found


def arm_rewards(
    conn: sa.Connection, endpoint: str, config_version: int, reward: str
) -> dict[str, tuple[int, int]]:
    """Per arm of one configuration: (requests with a ``reward`` feedback event, requests)."""
    scope = Scope(endpoint, since_config=config_version, until_config=config_version)
    facts = pending(conn, scope)
    trials = totals(conn, scope, ("arm",), ("requests",), facts)
    successes = reward_totals(conn, scope, reward, facts)
    return {
        str(arm): (successes.get(str(arm), (0, 0.0, 0.0))[0], round(n))
        for (arm,), (n,) in trials.items()
        if n > 0
    }


def interleaved_units(
    conn: sa.Connection, endpoint: str, start: datetime | None = None, end: datetime | None = None
) -> dict[tuple[str, str], dict[str, tuple[int, int, int, int, int, int]]]:
    """Per pair of interleaved versions ``(champion, challenger)`` and unit: impressions,
    wins, losses and ties of the challenger, and the clicks credited to each version.

    An impression compares the answering version's items with the one other version's:
    a win when the challenger's items got more clicks, a loss when fewer, a tie when as many
    and at least one. Impressions answered by a fallback (a ranker failed), or where only
    one version placed items, are left out.
    """
    require_units(conn, endpoint, start, end, "The interleaving comparison")
    scope = Scope(endpoint, start=start, end=end)
    t = interleaving_rollups
    query = (
        sa.select(
            t.c.champion, t.c.challenger, t.c.unit, *(sa.func.sum(t.c[n]) for n in INTERLEAVING)
        )
        .where(where(t, scope))
        .group_by(t.c.champion, t.c.challenger, t.c.unit)
    )
    found: dict[tuple[str, str, str], list[int]] = {}
    for row in conn.execute(query):
        found[(str(row[0]), str(row[1]), str(row[2]))] = [int(v or 0) for v in row[3:]]
    for key, values in pending(conn, scope).sums.get("interleaving_rollups", {}).items():
        into = found.setdefault((key[2], key[3], key[4]), [0] * len(INTERLEAVING))
        for n, name in enumerate(INTERLEAVING):
            into[n] += round(values[name])
    pairs: dict[tuple[str, str], dict[str, tuple[int, int, int, int, int, int]]] = {}
    for (champion, challenger, unit), counts in sorted(found.items()):
        if counts[0] > 0:
            a, b, c, d, e, f = counts
            pairs.setdefault((champion, challenger), {})[unit] = (a, b, c, d, e, f)
    return pairs


def shadow_pairs(
    conn: sa.Connection, endpoint: str, start: datetime | None = None, end: datetime | None = None
) -> list[dict[str, Any]]:
    """Served outputs beside each shadow version's outputs (or error) for the same request."""
    p, s = predictions, shadow_predictions
    query = _window(
        sa.select(
            p.c.request_id,
            p.c.model,
            p.c.version,
            p.c.outputs,
            s.c.model.label("shadow_model"),
            s.c.version.label("shadow_version"),
            s.c.outputs.label("shadow_outputs"),
            s.c.error.label("shadow_error"),
            s.c.latency_ms.label("shadow_latency_ms"),
        ).join(s, s.c.request_id == p.c.request_id),
        endpoint,
        start,
        end,
    ).order_by(p.c.at)
    return [dict(row) for row in conn.execute(query).mappings()]
