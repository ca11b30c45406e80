"""Predictions joined with feedback, per endpoint, version and time window, computed in SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from champion.events.tables import feedback, prediction_items, predictions

__all__ = ["VersionStats", "arm_rewards", "feedback_for", "joined_predictions", "version_stats"]


@dataclass(frozen=True)
class VersionStats:
    """What one version served in a window and what users did with it."""

    model: str
    version: int
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
    """Per-version aggregates over ``[start, end)``; every sum is done by the database."""
    p = predictions
    base = _window(
        sa.select(
            p.c.model,
            p.c.version,
            sa.func.count().label("requests"),
            sa.func.count(sa.distinct(p.c.unit)).label("units"),
        ),
        endpoint,
        start,
        end,
    ).group_by(p.c.model, p.c.version)
    stats: dict[tuple[str, int], dict[str, Any]] = {
        (row.model, row.version): {"requests": row.requests, "units": row.units}
        for row in conn.execute(base)
    }

    shown = _window(
        sa.select(
            prediction_items.c.model,
            prediction_items.c.version,
            sa.func.count().label("impressions"),
            sa.func.count(
                sa.distinct(
                    sa.case(
                        (
                            sa.exists().where(
                                (feedback.c.request_id == prediction_items.c.request_id)
                                & (feedback.c.item == prediction_items.c.item)
                                & (feedback.c.kind == "click")
                            ),
                            prediction_items.c.request_id + ":" + prediction_items.c.item,
                        )
                    )
                )
            ).label("clicked"),
        ).join(p, p.c.request_id == prediction_items.c.request_id),
        endpoint,
        start,
        end,
    ).group_by(prediction_items.c.model, prediction_items.c.version)
    for row in conn.execute(shown):
        stats.setdefault((row.model, row.version), {}).update(
            impressions=row.impressions, clicked=row.clicked
        )

    fb = _window(
        sa.select(
            p.c.model,
            p.c.version,
            sa.func.sum(sa.case((feedback.c.kind == "click", 1), else_=0)).label("clicks"),
            sa.func.sum(sa.case((feedback.c.kind == "purchase", 1), else_=0)).label("purchases"),
            sa.func.sum(sa.case((feedback.c.kind == "label", 1), else_=0)).label("labels"),
            sa.func.coalesce(sa.func.sum(feedback.c.value), 0.0).label("value"),
            sa.func.count(sa.distinct(p.c.request_id)).label("with_feedback"),
        ).join(feedback, feedback.c.request_id == p.c.request_id),
        endpoint,
        start,
        end,
    ).group_by(p.c.model, p.c.version)
    for row in conn.execute(fb):
        stats.setdefault((row.model, row.version), {}).update(
            clicks=row.clicks,
            purchases=row.purchases,
            labels=row.labels,
            value=float(row.value),
            with_feedback=row.with_feedback,
        )

    result = []
    for (model, version), values in sorted(stats.items()):
        p50, p99 = (_percentile(conn, endpoint, model, version, start, end, q) for q in (0.5, 0.99))
        result.append(
            VersionStats(
                model=model,
                version=version,
                requests=values.get("requests", 0),
                units=values.get("units", 0),
                impressions=values.get("impressions", 0),
                clicked_impressions=values.get("clicked", 0),
                clicks=values.get("clicks", 0),
                purchases=values.get("purchases", 0),
                labels=values.get("labels", 0),
                value=values.get("value", 0.0),
                requests_with_feedback=values.get("with_feedback", 0),
                latency_p50_ms=p50,
                latency_p99_ms=p99,
            )
        )
    return result


def _percentile(
    conn: sa.Connection,
    endpoint: str,
    model: str,
    version: int,
    start: datetime | None,
    end: datetime | None,
    q: float,
) -> float | None:
    # Nearest-rank percentile with ORDER BY ... OFFSET: portable to SQLite and PostgreSQL.
    where = _window(sa.select(sa.func.count()), endpoint, start, end).where(
        (predictions.c.model == model) & (predictions.c.version == version)
    )
    n = conn.execute(where).scalar_one()
    if n == 0:
        return None
    rank = max(0, min(n - 1, round(q * n + 0.5) - 1))
    query = (
        _window(sa.select(predictions.c.latency_ms), endpoint, start, end)
        .where((predictions.c.model == model) & (predictions.c.version == version))
        .order_by(predictions.c.latency_ms)
        .offset(rank)
        .limit(1)
    )
    return float(conn.execute(query).scalar_one())


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
            _window(sa.select(predictions), endpoint, start, end)
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
        query = sa.select(feedback).where(feedback.c.request_id.in_(chunk)).order_by(feedback.c.at)
        for row in conn.execute(query).mappings():
            found.setdefault(row["request_id"], []).append(dict(row))
    return found


def arm_rewards(
    conn: sa.Connection, endpoint: str, config_version: int, reward: str
) -> dict[str, tuple[int, int]]:
    """Per arm of one configuration: (requests with a ``reward`` feedback event, requests)."""
    p = predictions
    where = (p.c.endpoint == endpoint) & (p.c.config_version == config_version)
    trials: dict[str, int] = dict(
        conn.execute(sa.select(p.c.arm, sa.func.count()).where(where).group_by(p.c.arm)).all()
    )
    successes: dict[str, int] = dict(
        conn.execute(
            sa.select(p.c.arm, sa.func.count(sa.distinct(p.c.request_id)))
            .join(feedback, feedback.c.request_id == p.c.request_id)
            .where(where & (feedback.c.kind == reward))
            .group_by(p.c.arm)
        ).all()
    )
    return {arm: (int(successes.get(arm, 0)), int(n)) for arm, n in trials.items()}
