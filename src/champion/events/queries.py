"""Predictions joined with feedback, per endpoint, version and time window, computed in SQL."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from champion.events.tables import (
    feedback,
    prediction_items,
    predictions,
    recorded,
    shadow_predictions,
)

__all__ = [
    "VersionStats",
    "arm_rewards",
    "feedback_for",
    "interleaved_clicks",
    "item_was_clicked",
    "joined_predictions",
    "nearest_rank",
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
    """Per version and arm, over ``[start, end)``; every sum is done by the database.

    Requests count the version that answered; impressions, clicks and purchases of an item
    count the version each shown item is credited to (under interleaving, both teams of one
    request), so the versions' numbers add up to the interleaving comparison's.
    """
    p, i = predictions, prediction_items
    stats: dict[tuple[str, int, str], dict[str, Any]] = {}
    base = _window(
        sa.select(
            p.c.model,
            p.c.version,
            p.c.arm,
            sa.func.count().label("requests"),
            sa.func.count(sa.distinct(p.c.unit)).label("units"),
            sa.func.count(p.c.fallback_from).label("fallbacks"),
        ),
        endpoint,
        start,
        end,
    ).group_by(p.c.model, p.c.version, p.c.arm)
    for row in conn.execute(base):
        stats[(row.model, row.version, row.arm)] = {
            "requests": row.requests,
            "units": row.units,
            "fallbacks": row.fallbacks,
        }

    clicked = item_was_clicked()
    shown = _window(
        sa.select(
            i.c.model,
            i.c.version,
            p.c.arm,
            sa.func.count().label("impressions"),
            sa.func.sum(sa.case((clicked, 1), else_=0)).label("clicked"),
        ).join(p, p.c.request_id == i.c.request_id),
        endpoint,
        start,
        end,
    ).group_by(i.c.model, i.c.version, p.c.arm)
    for row in conn.execute(shown):
        stats.setdefault((row.model, row.version, row.arm), {}).update(
            impressions=row.impressions, clicked=int(row.clicked or 0)
        )

    # Under interleaving, feedback on an item goes to the version that placed it, as its
    # impression does; feedback without an item stays with the version that answered.
    placed = (
        (i.c.request_id == feedback.c.request_id)
        & (i.c.item == feedback.c.item)
        & (p.c.arm == "interleave")
    )
    credited_model = sa.func.coalesce(i.c.model, p.c.model).label("model")
    credited_version = sa.func.coalesce(i.c.version, p.c.version).label("version")
    fb = _window(
        sa.select(
            credited_model,
            credited_version,
            p.c.arm,
            sa.func.sum(sa.case((feedback.c.kind == "click", 1), else_=0)).label("clicks"),
            sa.func.sum(sa.case((feedback.c.kind == "purchase", 1), else_=0)).label("purchases"),
            sa.func.sum(sa.case((feedback.c.kind == "label", 1), else_=0)).label("labels"),
            sa.func.coalesce(sa.func.sum(feedback.c.value), 0.0).label("value"),
            sa.func.count(sa.distinct(p.c.request_id)).label("with_feedback"),
        )
        .join(feedback, feedback.c.request_id == p.c.request_id)
        .outerjoin(i, placed),
        endpoint,
        start,
        end,
    ).group_by(credited_model, credited_version, p.c.arm)
    for row in conn.execute(fb):
        stats.setdefault((row.model, row.version, row.arm), {}).update(
            clicks=row.clicks,
            purchases=row.purchases,
            labels=row.labels,
            value=float(row.value),
            with_feedback=row.with_feedback,
        )

    result = []
    for (model, version, arm), values in sorted(stats.items()):
        p50, p99 = (
            _percentile(conn, endpoint, (model, version, arm), start, end, q) for q in (0.5, 0.99)
        )
        result.append(
            VersionStats(
                model=model,
                version=version,
                arm=arm,
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
                fallbacks=values.get("fallbacks", 0),
            )
        )
    return result


def item_was_clicked() -> sa.Exists:
    """True for a shown item (``prediction_items`` row) that got a click."""
    i = prediction_items
    return sa.exists().where(
        (feedback.c.request_id == i.c.request_id)
        & (feedback.c.item == i.c.item)
        & (feedback.c.kind == "click")
    )


def _percentile(
    conn: sa.Connection,
    endpoint: str,
    group: tuple[str, int, str],
    start: datetime | None,
    end: datetime | None,
    q: float,
) -> float | None:
    model, version, arm = group
    same = (
        (predictions.c.model == model)
        & (predictions.c.version == version)
        & (predictions.c.arm == arm)
    )
    return nearest_rank(
        conn, _window(sa.select(predictions.c.latency_ms), endpoint, start, end).where(same), q
    )


def nearest_rank(conn: sa.Connection, query: sa.Select[Any], q: float) -> float | None:
    """The nearest-rank ``q`` quantile of the one column ``query`` selects (None if empty).

    ORDER BY ... OFFSET is portable to SQLite and PostgreSQL and ships one row to Python.
    """
    count = conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
    if count == 0:
        return None
    column = query.selected_columns[0]
    ranked = query.order_by(column).offset(max(0, math.ceil(q * count) - 1)).limit(1)
    value = conn.execute(ranked).scalar_one()
    return None if value is None else float(value)


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


def interleaved_clicks(
    conn: sa.Connection, endpoint: str, start: datetime | None = None, end: datetime | None = None
) -> dict[str, dict[str, Any]]:
    """Per interleaved impression: its unit, its champion and the clicks credited to each version.

    Returns ``{request_id: {"unit": ..., "champion": "recs/1", "clicks": {"recs/1": 2,
    "recs/2": 0}}}``; versions that placed items but got no click are present with 0.
    Impressions answered by a fallback (a ranker failed) are left out.
    """
    p, i = predictions, prediction_items
    clicked = item_was_clicked()
    query = _window(
        sa.select(
            p.c.request_id,
            p.c.unit,
            p.c.model.label("champion_model"),
            p.c.version.label("champion_version"),
            i.c.model,
            i.c.version,
            sa.func.sum(sa.case((clicked, 1), else_=0)).label("clicks"),
        )
        .join(i, i.c.request_id == p.c.request_id)
        .where((p.c.arm == "interleave") & p.c.fallback_from.is_(None)),
        endpoint,
        start,
        end,
    ).group_by(p.c.request_id, p.c.unit, p.c.model, p.c.version, i.c.model, i.c.version)
    impressions: dict[str, dict[str, Any]] = {}
    for row in conn.execute(query):
        champion = f"{row.champion_model}/{row.champion_version}"
        entry = impressions.setdefault(
            row.request_id, {"unit": row.unit, "champion": champion, "clicks": {}}
        )
        entry["clicks"][f"{row.model}/{row.version}"] = int(row.clicks)
    return impressions


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
