"""Health: liveness, readiness (with the reason per check), a summary, and metrics."""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from champion import __version__
from champion.answers import HealthAnswer, LiveAnswer, ReadyAnswer
from champion.api.answers import errors
from champion.api.state import state_of
from champion.db.locks import LeaderLock

__all__ = ["router"]

# Open (no token), but a NUL in the URL and a page of another site are refused first.
router = APIRouter(tags=["health"], responses=errors(400, 403))


@router.get("/v1/health/live", response_model=LiveAnswer)
def live() -> dict[str, str]:
    """Always 200 while the process serves HTTP: restart it only when this fails."""
    return {"status": "live", "version": __version__}


@router.get(
    "/v1/health/ready",
    response_model=ReadyAnswer,
    responses={503: {"model": ReadyAnswer, "description": "A check failed; each says why."}},
)
def ready(request: Request) -> JSONResponse:
    """200 when the database commits a write, every served version's blobs are in the
    artifact store and prediction events reach the database; else 503. Send traffic only
    while this is 200."""
    report = state_of(request).readiness.check()
    return JSONResponse(report.body(), status_code=200 if report.ready else 503)


@router.get("/v1/health", response_model=HealthAnswer)
def health(request: Request) -> dict[str, Any]:
    """A summary for people and scripts, always 200 while the process serves: ``ok`` when
    every readiness check passes without a warning and every endpoint can serve, else
    ``degraded``."""
    state = state_of(request)
    report = state.readiness.check()
    database = report.checks["database"]
    endpoints = {
        name: "ok" if active.error is None else f"error: {active.error.message}"
        for name, active in sorted(state.serving.status().items())
    }
    checks_ok = all(check["status"] == "ok" for check in report.checks.values())
    healthy = checks_ok and all(v == "ok" for v in endpoints.values())
    writer = state.writer
    return {
        "status": "ok" if healthy else "degraded",
        "version": __version__,
        "database": "ok" if database["status"] == "ok" else f"error: {database['error']}",
        "database_backend": state.services.engine.dialect.name,
        "endpoints": endpoints,
        "events": {
            "queued": writer.pending(),
            "written": writer.written,
            "dropped": writer.dropped,
            "spooled": writer.spooled,
            "replayed": writer.replayed,
            "spool_bytes": writer.spool.waiting_bytes if writer.spool is not None else 0,
        },
        "checks": report.checks,
        "worker": {
            "pid": os.getpid(),
            "leads": sorted(lock.name for lock in _locks(request) if lock.held),
        },
    }


def _locks(request: Request) -> list[LeaderLock]:
    summariser = getattr(request.app.state, "champion_summariser", None)
    extra = [summariser.lock] if summariser is not None else []
    return [*state_of(request).leader_locks(), *extra]


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    state = state_of(request)
    state.metrics.event_queue_depth.set(state.writer.pending())
    state.readiness.check()  # the champion_ready gauges are as fresh as the checks
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
