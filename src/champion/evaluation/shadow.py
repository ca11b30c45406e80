"""A shadow version beside the version that served: agreement, latency and label metrics.

Under ``shadow`` the champion answers and the challenger scores the same input off the
response path (``shadow_predictions``). For each pair of served and shadow versions over a
window this reports how many requests the shadow scored (and how many failed), how often the
two agree, both versions' latency on those same requests, and, once labels arrive as
feedback, both versions' label metrics on the same labelled requests (``label_summaries``:
AUC, F1, accuracy, log loss and RMSE by scikit-learn).

Two outputs agree when they carry the same ``label`` (classifiers), else when their scores
(``score_of``: the positive class's probability, a ``score`` or ``value``) fall on the same
side of 0.5 if both are probabilities, else when they are equal; ``mean_abs_difference`` is
the mean distance between the two scores (regressors: how far the shadow's values are).
Counts and latency percentiles are computed by the database; agreement and label metrics
read the paired outputs in chunks.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from champion.evaluation.labels import label_summaries, score_of
from champion.events.logged_rows import shadowed_in
from champion.events.tables import feedback, predictions, shadow_predictions

__all__ = ["ShadowStats", "shadow_stats"]

_CHUNK = 2_000


@dataclass(frozen=True)
class ShadowStats:
    """One shadow version beside the version that served the same requests."""

    model: str
    version: int
    served_model: str
    served_version: int
    requests: int
    """Requests the shadow version was asked to score."""
    errors: int
    """Of those, the ones where it failed (the client never saw the failure)."""
    outputs_compared: int
    agreement: float | None
    mean_abs_difference: float | None
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    served_latency_p50_ms: float | None
    served_latency_p99_ms: float | None
    labels: int
    """Labelled requests among those both versions answered."""
    metrics: dict[str, float | None] = field(default_factory=dict)
    served_metrics: dict[str, float | None] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "arm": "shadow",
            "served_model": self.served_model,
            "served_version": self.served_version,
            "requests": self.requests,
            "errors": self.errors,
            "outputs_compared": self.outputs_compared,
            "agreement": self.agreement,
            "mean_abs_difference": self.mean_abs_difference,
            "latency_p50_ms": self.latency_p50_ms,
            "latency_p99_ms": self.latency_p99_ms,
            "served_latency_p50_ms": self.served_latency_p50_ms,
            "served_latency_p99_ms": self.served_latency_p99_ms,
            "labels": self.labels,
            "metrics": self.metrics,
            "served_metrics": self.served_metrics,
        }


def _paired() -> sa.Select[Any]:
    p, s = predictions, shadow_predictions
    return sa.select().select_from(p.join(s, s.c.request_id == p.c.request_id))


def shadow_stats(
    conn: sa.Connection, endpoint: str, start: datetime | None = None, end: datetime | None = None
) -> list[ShadowStats]:
    """Per served and shadow version pair, over requests served in ``[start, end)``."""
    p, s = predictions, shadow_predictions
    groups = conn.execute(
        shadowed_in(
            _paired()
            .add_columns(
                s.c.model,
                s.c.version,
                p.c.model.label("served_model"),
                p.c.version.label("served_version"),
                sa.func.count().label("requests"),
                sa.func.count(s.c.error).label("errors"),
            )
            .group_by(s.c.model, s.c.version, p.c.model, p.c.version),
            endpoint,
            start,
            end,
        )
    ).all()
    found = []
    for g in sorted(groups, key=lambda r: (r.model, r.version, r.served_model, r.served_version)):
        pair = (
            (s.c.model == g.model)
            & (s.c.version == g.version)
            & (p.c.model == g.served_model)
            & (p.c.version == g.served_version)
        )
        answered = pair & s.c.error.is_(None)

        def latency(column: sa.Column[Any], q: float, where: Any = answered) -> float | None:
            query = shadowed_in(_paired().add_columns(column).where(where), endpoint, start, end)
            return _nearest_rank(conn, query, q)

        compared = _compare(conn, shadowed_in(_paired(), endpoint, start, end).where(answered))
        found.append(
            ShadowStats(
                model=g.model,
                version=int(g.version),
                served_model=g.served_model,
                served_version=int(g.served_version),
                requests=int(g.requests),
                errors=int(g.errors),
                outputs_compared=compared.n,
                agreement=compared.agreement,
                mean_abs_difference=compared.mean_abs_difference,
                latency_p50_ms=latency(s.c.latency_ms, 0.5),
                latency_p99_ms=latency(s.c.latency_ms, 0.99),
                served_latency_p50_ms=latency(p.c.latency_ms, 0.5, pair),
                served_latency_p99_ms=latency(p.c.latency_ms, 0.99, pair),
                labels=compared.labels,
                metrics=compared.metrics.get("shadow", {}),
                served_metrics=compared.metrics.get("served", {}),
            )
        )
    return found


@dataclass
class _Comparison:
    n: int = 0
    agreeing: int = 0
    scored: int = 0
    distance: float = 0.0
    labels: int = 0
    metrics: dict[str, dict[str, float | None]] = field(default_factory=dict)

    @property
    def agreement(self) -> float | None:
        return self.agreeing / self.n if self.n else None

    @property
    def mean_abs_difference(self) -> float | None:
        return self.distance / self.scored if self.scored else None


def _label(conn: sa.Connection, request_ids: list[str]) -> dict[str, Any]:
    """Each request's newest label."""
    rows = conn.execute(
        sa.select(feedback.c.request_id, feedback.c.label)
        .where(feedback.c.request_id.in_(request_ids) & (feedback.c.kind == "label"))
        .order_by(feedback.c.at)
    )
    return {row.request_id: row.label for row in rows}


def _chunks(conn: sa.Connection, query: sa.Select[Any]) -> Iterator[Sequence[sa.Row[Any]]]:
    p, s = predictions, shadow_predictions
    selected = query.add_columns(
        p.c.request_id, p.c.unit, p.c.outputs, s.c.outputs.label("shadow_outputs")
    ).order_by(p.c.at, p.c.request_id)
    result = conn.execution_options(yield_per=_CHUNK).execute(selected)
    yield from result.partitions()


def _compare(conn: sa.Connection, query: sa.Select[Any]) -> _Comparison:
    found = _Comparison()
    labelled: list[dict[str, Any]] = []
    for chunk in _chunks(conn, query):
        labels = _label(conn, [row.request_id for row in chunk])
        for row in chunk:
            served, shadow = row.outputs or [], row.shadow_outputs or []
            for a, b in zip(served, shadow, strict=False):
                found.n += 1
                found.agreeing += _agree(a, b)
                x, y = score_of(a), score_of(b)
                if x is not None and y is not None and math.isfinite(x - y):
                    found.scored += 1
                    found.distance += abs(x - y)
            if row.request_id in labels:
                label = labels[row.request_id]
                found.labels += 1
                for arm, outputs in (("served", served), ("shadow", shadow)):
                    labelled.append(
                        {"arm": arm, "unit": row.unit, "outputs": outputs, "label": label}
                    )
    found.metrics = {arm: scores.report for arm, scores in label_summaries(labelled).items()}
    return found


def _agree(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict) and "label" in a and "label" in b:
        return bool(a["label"] == b["label"])
    x, y = score_of(a), score_of(b)
    if x is not None and y is not None and 0 <= x <= 1 and 0 <= y <= 1:
        return (x >= 0.5) == (y >= 0.5)
    return bool(a == b)


def _nearest_rank(conn: sa.Connection, query: sa.Select[Any], q: float) -> float | None:
    """The nearest-rank ``q`` quantile of the one column ``query`` selects (None if empty).

    Shadow answers are compared request by request, so they are read raw (they have no
    rollup); ORDER BY ... OFFSET is portable to SQLite and PostgreSQL and ships one row.
    """
    count = conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
    if count == 0:
        return None
    column = query.selected_columns[0]
    ranked = query.order_by(column).offset(max(0, math.ceil(q * count) - 1)).limit(1)
    value = conn.execute(ranked).scalar_one()
    return None if value is None else float(value)
