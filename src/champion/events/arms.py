"""Per-arm aggregates of an experiment window, from the rollups and what is not folded yet.

Every online metric is a ratio over the randomisation unit (clicked items per shown item,
failed requests per request, ...): the database sums each unit's folded requests, the
requests not folded yet are added (see ``aggregates``), and six sums per arm and metric
(``n, Σx, Σy, Σx², Σy², Σxy``) come out, all the delta method needs. Label rows and clicked
ranking positions, which scikit-learn scores, come from their slim copies. Latency and
feedback-delay percentiles come from histograms, within ``sketch.ACCURACY`` (1 %) of the
exact nearest-rank value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from champion.events import sketch
from champion.events.aggregates import (
    Scope,
    pending,
    rows_of,
    totals,
    where,
)
from champion.events.compacted import require_units
from champion.events.cuts import exact, looks
from champion.events.facts import Facts
from champion.events.kept_sketches import arm_sketches
from champion.events.moments import UnitSums, unit_sums, unit_sums_over_time
from champion.events.rollup_tables import labelled_predictions, ranked_clicks, reward_rollups
from champion.events.tables import feedback, predictions

__all__ = [
    "RATIOS",
    "ArmSums",
    "ArmWindow",
    "arm_counts",
    "arm_rewards",
    "arm_sums",
    "clicked_positions",
    "label_rows",
    "labelled",
    "propensity_sums",
    "ranked_requests",
    "read_ahead",
    "reward_totals",
    "unit_totals",
]

RATIOS: dict[str, tuple[str, str]] = {
    "ctr": ("clicked_items", "shown"),
    "click_rate": ("clicked", "requests"),
    "conversion": ("purchased", "requests"),
    "value_per_unit": ("value", "one"),
    "error_rate": ("failed", "requests"),
    "latency_ms": ("latency", "requests"),
    "coverage": ("with_feedback", "requests"),
}
"""Ratio metrics by name: (numerator, denominator) of per-unit totals."""


@dataclass(frozen=True)
class ArmWindow:
    """Which predictions an analysis covers: one endpoint, some arms, a time window and the
    configurations from ``since_config`` to ``until_config`` (one assignment regime, when the
    two bound a ramp step: each prediction carries the configuration that routed it).
    Exact at any ``start`` and ``end`` while the raw rows of the segments they cut exist
    (see ``aggregates``); :attr:`scope` is the window as stored, which the readers here cut
    (``cuts.exact``)."""

    endpoint: str
    arms: Sequence[str]
    since_config: int | None = None
    start: datetime | None = None
    end: datetime | None = None
    until_config: int | None = None

    @property
    def scope(self) -> Scope:
        return Scope(
            self.endpoint, self.arms, self.since_config, self.until_config, self.start, self.end
        )


@dataclass(frozen=True)
class ArmSums:
    """One arm's totals and, per ratio metric, its per-unit sums ``(n, Σx, Σy, Σx², Σy², Σxy)``."""

    arm: str
    units: int
    totals: dict[str, float]
    sums: dict[str, tuple[int, float, float, float, float, float]]
    latency_ms: dict[str, float | None]
    feedback_delay_seconds: dict[str, float | None]


_TOTALS = (
    "requests", "failed", "clicked", "purchased", "value", "with_feedback", "shown",
    "clicked_items", "latency",
)  # fmt: skip


def unit_totals(
    conn: sa.Connection, scope: Scope, columns: Sequence[str], facts: Facts | None = None
) -> dict[tuple[str, str], dict[str, float]]:
    """Per (arm, unit) with a request in ``scope``: the sums of rollup ``columns`` (and
    ``one``: 1 per unit). ``facts``: ``pending(conn, exact(conn, scope))``, if the caller
    has them."""
    require_units(conn, scope.endpoint, scope.start, scope.end, "A unit-level analysis")
    scope = exact(conn, scope)
    names = list(dict.fromkeys(["requests", *(c for c in columns if c != "one")]))
    found = totals(conn, scope, ("arm", "unit"), names, facts)
    return {
        (str(arm), str(unit)): dict(zip(names, values, strict=True)) | {"one": 1.0}
        for (arm, unit), values in found.items()
        if values[0] > 0
    }


# What a report reads from ``rollups`` per arm, as one query (see ``moments``): every total,
# and the three products of each ratio metric's per-unit numerator and denominator.
_COLUMNS = (*_TOTALS, "delay_sum", "delay_count", "rank_requests")
_PRODUCTS = tuple(
    dict.fromkeys(product for x, y in RATIOS.values() for product in ((x, x), (y, y), (x, y)))
)


def _arm_moments(
    conn: sa.Connection, scope: Scope, facts: Facts | None = None
) -> dict[str, UnitSums]:
    require_units(conn, scope.endpoint, scope.start, scope.end, "A unit-level analysis")
    return unit_sums(conn, scope, _COLUMNS, _PRODUCTS, facts)


def arm_sums(
    conn: sa.Connection, window: ArmWindow, *, percentiles: bool = True
) -> dict[str, ArmSums]:
    """Per arm of ``window``: totals, the per-unit sums of every metric in :data:`RATIOS`,
    latency p50/p95/p99 and the feedback delay (seconds from a prediction to the arrival of
    its first feedback event; mean and p50). Without ``percentiles`` the latency and delay
    percentiles are None: no decision reads them, and their histograms have a row per
    bucket and segment, so a controller's look over a long experiment would read them all."""
    scope = exact(conn, window.scope)
    moments = _arm_moments(conn, scope)
    histograms = arm_sketches(conn, scope, ("latency", "delay")) if percentiles else {}
    latency, delay = histograms.get("latency", {}), histograms.get("delay", {})
    found: dict[str, ArmSums] = {}
    for arm, arm_moments in moments.items():
        total, product = arm_moments.sums, arm_moments.products
        sums = {
            metric: (
                arm_moments.units,
                total[x],
                total[y],
                product[(x, x)],
                product[(y, y)],
                product[(x, y)],
            )
            for metric, (x, y) in RATIOS.items()
        }
        counted = total["delay_count"]
        found[arm] = ArmSums(
            arm=arm,
            units=arm_moments.units,
            totals={name: total[name] for name in _TOTALS},
            sums=sums,
            latency_ms={
                f"p{round(q * 100)}": sketch.quantile(latency.get((arm,), {}), q)
                for q in (0.5, 0.95, 0.99)
            },
            feedback_delay_seconds={
                "mean": total["delay_sum"] / counted if counted else None,
                "p50": sketch.quantile(delay.get((arm,), {}), 0.5),
            },
        )
    return found


def read_ahead(conn: sa.Connection, window: ArmWindow, ends: Sequence[datetime | None]) -> None:
    """Read what :func:`arm_sums` and :func:`arm_counts` need of ``window`` cut at each of
    ``ends`` (increasing; the last may be None) in one pass over the rollups, and keep it
    for the transaction: those windows then cost no pass of their own (a timeline's
    points)."""
    require_units(conn, window.endpoint, window.start, ends[-1], "A unit-level analysis")
    cut = looks(conn, window.scope, ends)
    if cut is None and any(exact(conn, replace(window.scope, end=end)).raw for end in ends):
        return  # the start cuts a segment: each window reads its own (see ``aggregates``)
    unit_sums_over_time(conn, window.scope, ends, _COLUMNS, _PRODUCTS, cut)


def arm_counts(conn: sa.Connection, window: ArmWindow) -> dict[str, tuple[int, int, int]]:
    """Per arm: (units, requests, failed requests); cheap enough to run on every look (and
    free after :func:`arm_sums` of the same window in the same transaction)."""
    return {
        arm: (found.units, round(found.sums["requests"]), round(found.sums["failed"]))
        for arm, found in _arm_moments(conn, exact(conn, window.scope)).items()
    }


def label_rows(conn: sa.Connection, window: ArmWindow) -> list[dict[str, Any]]:
    """Predictions joined with their label feedback: arm, unit, outputs, label."""
    require_units(conn, window.endpoint, window.start, window.end, "Label metrics")
    query = labelled(window.scope)
    rows = conn.execute(
        query.order_by(query.selected_columns.request_id, query.selected_columns.event_id)
    )
    return [
        {name: row[name] for name in ("arm", "unit", "request_id", "outputs", "label")}
        for row in rows.mappings()
    ]


def labelled(scope: Scope) -> sa.CompoundSelect[Any]:
    """Every label feedback event on a served ``predict`` request in ``scope`` (by the
    request's exact time): the folded ones' copies and the raw rows not folded yet."""
    lp, p, f = labelled_predictions, predictions, feedback
    columns = ("event_id", "request_id", "arm", "unit", "model", "version", "at", "outputs")
    folded = sa.select(*(lp.c[name] for name in columns), lp.c.label).where(where(lp, scope, "at"))
    raw = (
        sa.select(f.c.event_id, *(p.c[name] for name in columns[1:]), f.c.label)
        .join(f, f.c.request_id == p.c.request_id)
        # The unfolded feedback (a few rows, its partial index) leads, not the endpoint's
        # every prediction.
        .where(where(p, scope, "at", indexed=False) & sa.not_(f.c.folded))
        .where((f.c.kind == "label") & (p.c.kind == "predict"))
    )
    return sa.union_all(folded, raw)


def ranked_requests(conn: sa.Connection, window: ArmWindow) -> dict[tuple[str, str], int]:
    """How many ranking requests each (arm, unit) made."""
    require_units(conn, window.endpoint, window.start, window.end, "NDCG")
    # Only ranking units leave the database: an endpoint of classifiers sends none, and
    # one whose arms' totals (read for the report anyway) hold no ranking is not read again.
    scope = exact(conn, window.scope)
    if not any(m.sums["rank_requests"] > 0 for m in _arm_moments(conn, scope).values()):
        return {}
    found = totals(conn, scope, ("arm", "unit"), ("rank_requests",), nonzero="rank_requests")
    return {(str(a), str(u)): round(n) for (a, u), (n,) in found.items() if n > 0}


def clicked_positions(conn: sa.Connection, window: ArmWindow) -> list[tuple[str, str, str, int]]:
    """(arm, unit, request_id, position) of every clicked shown item."""
    scope = exact(conn, window.scope)
    require_units(conn, window.endpoint, window.start, window.end, "NDCG")
    c = ranked_clicks
    query = sa.select(c.c.arm, c.c.unit, c.c.request_id, c.c.position).where(where(c, scope, "at"))
    found = [(str(a), str(u), str(r), int(n)) for a, u, r, n in conn.execute(query)]
    for row in rows_of(pending(conn, scope), "ranked_clicks"):
        found.append((row["arm"], row["unit"], row["request_id"], int(row["position"])))
    return sorted(found, key=lambda click: (click[2], click[3]))


def propensity_sums(
    conn: sa.Connection, window: ArmWindow, reward: str
) -> tuple[int, dict[str, tuple[float, float, float, float]]]:
    """For inverse-propensity estimates: the number of logged requests with a probability,
    and per arm ``(Σ r/p, Σ r/p², Σ 1/p, Σ 1/p²)`` where ``r`` is 1 for a request with a
    ``reward`` feedback event."""
    scope = exact(conn, window.scope)
    facts = pending(conn, scope)
    logged = totals(
        conn, scope, ("arm",), ("propensity_requests", "inverse_p", "inverse_p2"), facts
    )
    rewarded = reward_totals(conn, scope, reward, facts)
    sums = {
        str(arm): (*rewarded.get(str(arm), (0, 0.0, 0.0))[1:], inverse, inverse_sq)
        for (arm,), (count, inverse, inverse_sq) in logged.items()
        if count > 0
    }
    return round(sum(values[0] for values in logged.values())), sums


def reward_totals(
    conn: sa.Connection, scope: Scope, reward: str, facts: Facts
) -> dict[str, tuple[int, float, float]]:
    """Per arm: requests with a ``reward`` feedback event, and Σ 1/p, Σ 1/p² over those."""
    r = reward_rollups
    query = (
        sa.select(
            r.c.arm,
            sa.func.sum(r.c.requests),
            sa.func.sum(r.c.weighted),
            sa.func.sum(r.c.weighted_sq),
        )
        .where(where(r, scope) & (r.c.kind == reward))
        .group_by(r.c.arm)
    )
    found = {
        str(arm): [float(n or 0), float(a or 0), float(b or 0)]
        for arm, n, a, b in conn.execute(query)
    }
    for key, values in facts.sums.get("reward_rollups", {}).items():
        if key[3] == reward:
            into = found.setdefault(str(key[2]), [0.0, 0.0, 0.0])
            for n, name in enumerate(("requests", "weighted", "weighted_sq")):
                into[n] += values[name]
    return {arm: (round(n), a, b) for arm, (n, a, b) in found.items()}


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
