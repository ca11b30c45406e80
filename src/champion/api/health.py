"""Health and metrics."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from champion import __version__
from champion.api.state import state_of

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/v1/health")
def health(request: Request) -> dict[str, Any]:
    """``ok`` when the database answers and every endpoint can serve."""
    state = state_of(request)
    try:
        with state.services.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        database = "ok"
    except sa.exc.DBAPIError as exc:
        database = f"error: {type(exc).__name__}"
    endpoints = {
        name: "ok" if active.error is None else f"error: {active.error.message}"
        for name, active in sorted(state.serving.status().items())
    }
    healthy = database == "ok" and all(v == "ok" for v in endpoints.values())
    return {
        "status": "ok" if healthy else "degraded",
        "version": __version__,
        "database": database,
        "database_backend": state.services.engine.dialect.name,
        "endpoints": endpoints,
        "events": {
            "queued": state.writer.pending(),
            "written": state.writer.written,
            "dropped": state.writer.dropped,
        },
    }


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    state = state_of(request)
    state.metrics.event_queue_depth.set(state.writer.pending())
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
