"""Reading a pipeline endpoint's stage records: one request's events, stage by stage."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from champion.events.tables import predictions

__all__ = ["request_events"]


def request_events(
    conn: sa.Connection, request_id: str, ids: Sequence[str]
) -> list[dict[str, Any]]:
    """The prediction events of one request, in the order of their ``ids`` (each stage's
    event id, ``serving.stages.stage_event_id``; the request's id alone for an endpoint
    without stages): a lookup by key."""
    p = predictions.c
    rows = conn.execute(
        sa.select(
            p.request_id,
            p.stage,
            p.model,
            p.version,
            p.arm,
            p.inputs,
            p.outputs,
            p.latency_ms,
            p.fallback_from,
            p.at,
        ).where(p.request_id.in_(ids))
    ).all()
    order = {event_id: n for n, event_id in enumerate(ids)}
    return [
        {
            "request_id": request_id,
            "event_id": row.request_id,
            "stage": row.stage,
            "model": row.model,
            "version": row.version,
            "arm": row.arm,
            "inputs": row.inputs,
            "outputs": row.outputs,
            "latency_ms": row.latency_ms,
            "fallback_from": row.fallback_from,
            "at": row.at.isoformat(),
        }
        for row in sorted(rows, key=lambda row: order[row.request_id])
    ]
