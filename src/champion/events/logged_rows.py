"""The logged rows themselves, for readers that show rows rather than sums: recent
predictions with their feedback, and served outputs beside their shadows' outputs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from champion.events.tables import feedback, predictions, recorded, shadow_predictions

__all__ = ["feedback_for", "joined_predictions", "served_in", "shadow_pairs", "shadowed_in"]


def served_in(query: Any, endpoint: str, start: datetime | None, end: datetime | None) -> Any:
    """``query`` narrowed to the predictions ``endpoint`` served in ``[start, end)``."""
    query = query.where(predictions.c.endpoint == endpoint)
    if start is not None:
        query = query.where(predictions.c.at >= start)
    if end is not None:
        query = query.where(predictions.c.at < end)
    return query


def shadowed_in(query: Any, endpoint: str, start: datetime | None, end: datetime | None) -> Any:
    """``query`` over predictions joined to their shadow rows, narrowed as :func:`served_in`.

    Both rows name the endpoint: the shadow's lets the database start from the shadow rows,
    few beside the predictions (an endpoint without shadows reads none at all).
    """
    return served_in(query.where(shadow_predictions.c.endpoint == endpoint), endpoint, start, end)


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
            served_in(sa.select(*recorded(predictions)), endpoint, start, end)
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


def shadow_pairs(
    conn: sa.Connection, endpoint: str, start: datetime | None = None, end: datetime | None = None
) -> list[dict[str, Any]]:
    """Served outputs beside each shadow version's outputs (or error) for the same request."""
    p, s = predictions, shadow_predictions
    query = shadowed_in(
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
