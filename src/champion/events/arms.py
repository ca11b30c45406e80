"""Per-arm aggregates of an experiment window, computed in SQL.

Every online metric is a ratio over the randomisation unit (clicked items per shown item,
failed requests per request, ...): the database groups requests by arm and unit, then returns
six sums per arm and metric (``n, Σx, Σy, Σx², Σy², Σxy``), all the delta method needs.
Only label rows and clicked ranking positions, which scikit-learn scores, come to Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from champion.db.dialects import seconds_between
from champion.events.queries import item_was_clicked, nearest_rank
from champion.events.tables import feedback, prediction_items, predictions

__all__ = [
    "RATIOS",
    "ArmSums",
    "ArmWindow",
    "arm_counts",
    "arm_sums",
    "clicked_positions",
    "label_rows",
    "propensity_sums",
    "ranked_requests",
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
    two bound a ramp step: each prediction carries the configuration that routed it)."""

    endpoint: str
    arms: Sequence[str]
    since_config: int | None = None
    start: datetime | None = None
    end: datetime | None = None
    until_config: int | None = None

    def where(self) -> sa.ColumnElement[bool]:
        p = predictions
        condition = (p.c.endpoint == self.endpoint) & p.c.arm.in_(list(self.arms))
        if self.since_config is not None:
            condition &= p.c.config_version >= self.since_config
        if self.until_config is not None:
            condition &= p.c.config_version <= self.until_config
        if self.start is not None:
            condition &= p.c.at >= self.start
        if self.end is not None:
            condition &= p.c.at < self.end
        return condition


@dataclass(frozen=True)
class ArmSums:
    """One arm's totals and, per ratio metric, its per-unit sums ``(n, Σx, Σy, Σx², Σy², Σxy)``."""

    arm: str
    units: int
    totals: dict[str, float]
    sums: dict[str, tuple[int, float, float, float, float, float]]
    latency_ms: dict[str, float | None]
    feedback_delay_seconds: dict[str, float | None]


def _per_request(window: ArmWindow) -> sa.Subquery:
    p, f, i = predictions, feedback, prediction_items
    where = window.where()
    answered = (
        sa.select(
            f.c.request_id,
            sa.func.max(sa.case((f.c.kind == "click", 1), else_=0)).label("clicked"),
            sa.func.max(sa.case((f.c.kind == "purchase", 1), else_=0)).label("purchased"),
            sa.func.coalesce(sa.func.sum(f.c.value), 0.0).label("value"),
            sa.func.min(f.c.received_at).label("first_feedback_at"),
        )
        .select_from(f.join(p, p.c.request_id == f.c.request_id))
        .where(where)
        .group_by(f.c.request_id)
        .subquery()
    )
    shown = (
        sa.select(
            i.c.request_id,
            sa.func.count().label("shown"),
            sa.func.sum(sa.case((item_was_clicked(), 1), else_=0)).label("clicked_items"),
        )
        .select_from(i.join(p, p.c.request_id == i.c.request_id))
        .where(where)
        .group_by(i.c.request_id)
        .subquery()
    )
    return (
        sa.select(
            p.c.arm,
            p.c.unit,
            p.c.at,
            p.c.latency_ms.label("latency"),
            sa.case((p.c.fallback_from.is_not(None), 1), else_=0).label("failed"),
            sa.func.coalesce(answered.c.clicked, 0).label("clicked"),
            sa.func.coalesce(answered.c.purchased, 0).label("purchased"),
            sa.func.coalesce(answered.c.value, 0.0).label("value"),
            sa.case((answered.c.request_id.is_not(None), 1), else_=0).label("with_feedback"),
            answered.c.first_feedback_at,
            sa.func.coalesce(shown.c.shown, 0).label("shown"),
            sa.func.coalesce(shown.c.clicked_items, 0).label("clicked_items"),
        )
        .select_from(
            p.outerjoin(answered, answered.c.request_id == p.c.request_id).outerjoin(
                shown, shown.c.request_id == p.c.request_id
            )
        )
        .where(where)
        .subquery()
    )


_TOTALS = (
    "requests", "failed", "clicked", "purchased", "value", "with_feedback", "shown",
    "clicked_items", "latency",
)  # fmt: skip


def arm_sums(conn: sa.Connection, window: ArmWindow) -> dict[str, ArmSums]:
    """Per arm of ``window``: totals, the per-unit sums of every metric in :data:`RATIOS`,
    latency p50/p95/p99 and the feedback delay (seconds from a prediction to the arrival of
    its first feedback event; mean and p50)."""
    request = _per_request(window)
    unit = (
        sa.select(
            request.c.arm,
            request.c.unit,
            sa.func.count().label("requests"),
            sa.literal(1.0).label("one"),
            *(sa.func.sum(request.c[name]).label(name) for name in _TOTALS if name != "requests"),
        )
        .group_by(request.c.arm, request.c.unit)
        .subquery()
    )
    columns: list[Any] = [unit.c.arm, sa.func.count().label("units")]
    columns += [sa.func.sum(unit.c[name]).label(f"total_{name}") for name in _TOTALS]
    for metric, (x_name, y_name) in RATIOS.items():
        x, y = unit.c[x_name], unit.c[y_name]
        columns += [
            sa.func.sum(x).label(f"{metric}_x"),
            sa.func.sum(y).label(f"{metric}_y"),
            sa.func.sum(x * x).label(f"{metric}_xx"),
            sa.func.sum(y * y).label(f"{metric}_yy"),
            sa.func.sum(x * y).label(f"{metric}_xy"),
        ]
    found: dict[str, ArmSums] = {}
    for row in conn.execute(sa.select(*columns).group_by(unit.c.arm)).mappings():
        units = int(row["units"])
        sums = {metric: _six(row, metric, units) for metric in RATIOS}
        found[row["arm"]] = ArmSums(
            arm=row["arm"],
            units=units,
            totals={name: float(row[f"total_{name}"] or 0.0) for name in _TOTALS},
            sums=sums,
            latency_ms=_latency(conn, window, row["arm"]),
            feedback_delay_seconds=_delay(conn, window, row["arm"]),
        )
    return found


def _six(
    row: sa.RowMapping, metric: str, units: int
) -> tuple[int, float, float, float, float, float]:
    x, y, xx, yy, xy = (
        float(row[f"{metric}_{part}"] or 0.0) for part in ("x", "y", "xx", "yy", "xy")
    )
    return units, x, y, xx, yy, xy


def _latency(conn: sa.Connection, window: ArmWindow, arm: str) -> dict[str, float | None]:
    # Straight from the predictions: the per-request join with feedback is not needed here,
    # and each quantile runs two queries.
    p = predictions
    query = sa.select(p.c.latency_ms).where(window.where() & (p.c.arm == arm))
    return {f"p{round(q * 100)}": nearest_rank(conn, query, q) for q in (0.5, 0.95, 0.99)}


def _delay(conn: sa.Connection, window: ArmWindow, arm: str) -> dict[str, float | None]:
    p, f = predictions, feedback
    first = (
        sa.select(p.c.at, sa.func.min(f.c.received_at).label("first_feedback_at"))
        .select_from(f.join(p, p.c.request_id == f.c.request_id))
        .where(window.where() & (p.c.arm == arm))
        .group_by(p.c.request_id, p.c.at)
        .subquery()
    )
    delay = seconds_between(conn.dialect.name, first.c.first_feedback_at, first.c.at)
    mean = conn.execute(sa.select(sa.func.avg(delay))).scalar_one()
    return {
        "mean": None if mean is None else float(mean),
        "p50": nearest_rank(conn, sa.select(delay.label("delay")), 0.5),
    }


def arm_counts(conn: sa.Connection, window: ArmWindow) -> dict[str, tuple[int, int, int]]:
    """Per arm: (units, requests, failed requests); cheap enough to run on every look."""
    p = predictions
    failed = sa.func.sum(sa.case((p.c.fallback_from.is_not(None), 1), else_=0))
    query = (
        sa.select(p.c.arm, sa.func.count(sa.distinct(p.c.unit)), sa.func.count(), failed)
        .where(window.where())
        .group_by(p.c.arm)
    )
    return {arm: (int(u), int(n), int(f or 0)) for arm, u, n, f in conn.execute(query)}


def label_rows(conn: sa.Connection, window: ArmWindow) -> list[dict[str, Any]]:
    """Predictions joined with their label feedback: arm, unit, outputs, label."""
    p, f = predictions, feedback
    query = (
        sa.select(p.c.arm, p.c.unit, p.c.request_id, p.c.outputs, f.c.label)
        .join(f, (f.c.request_id == p.c.request_id) & (f.c.kind == "label"))
        .where(window.where() & (p.c.kind == "predict"))
        .order_by(p.c.request_id, f.c.event_id)
    )
    return [dict(row) for row in conn.execute(query).mappings()]


def ranked_requests(conn: sa.Connection, window: ArmWindow) -> dict[tuple[str, str], int]:
    """How many ranking requests each (arm, unit) made."""
    p = predictions
    query = (
        sa.select(p.c.arm, p.c.unit, sa.func.count())
        .where(window.where() & (p.c.kind == "rank"))
        .group_by(p.c.arm, p.c.unit)
    )
    return {(arm, unit): int(n) for arm, unit, n in conn.execute(query)}


def clicked_positions(conn: sa.Connection, window: ArmWindow) -> list[tuple[str, str, str, int]]:
    """(arm, unit, request_id, position) of every clicked shown item."""
    p, i = predictions, prediction_items
    query = (
        sa.select(p.c.arm, p.c.unit, i.c.request_id, i.c.position)
        .join(p, p.c.request_id == i.c.request_id)
        .where(window.where() & (p.c.kind == "rank") & item_was_clicked())
        .order_by(i.c.request_id, i.c.position)
    )
    return [
        (arm, unit, request, int(position)) for arm, unit, request, position in conn.execute(query)
    ]


def propensity_sums(
    conn: sa.Connection, window: ArmWindow, reward: str
) -> tuple[int, dict[str, tuple[float, float, float, float]]]:
    """For inverse-propensity estimates: the number of logged requests with a probability,
    and per arm ``(Σ r/p, Σ r/p², Σ 1/p, Σ 1/p²)`` where ``r`` is 1 for a request with a
    ``reward`` feedback event."""
    p, f = predictions, feedback
    rewarded = sa.exists().where((f.c.request_id == p.c.request_id) & (f.c.kind == reward))
    r = sa.case((rewarded, 1.0), else_=0.0)
    where = window.where() & p.c.probability.is_not(None) & (p.c.probability > 0)
    total = conn.execute(sa.select(sa.func.count()).where(where)).scalar_one()
    prob = p.c.probability
    query = (
        sa.select(
            p.c.arm,
            sa.func.sum(r / prob),
            sa.func.sum(r / (prob * prob)),
            sa.func.sum(1.0 / prob),
            sa.func.sum(1.0 / (prob * prob)),
        )
        .where(where)
        .group_by(p.c.arm)
    )
    sums = {
        arm: (float(a or 0), float(b or 0), float(c or 0), float(d or 0))
        for arm, a, b, c, d in conn.execute(query)
    }
    return int(total), sums
