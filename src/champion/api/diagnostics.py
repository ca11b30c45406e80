"""GET /v1/diagnostics: step timings, serving stages, dependency health, data integrity."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Query, Request

from champion.answers import DiagnosticsAnswer
from champion.api.answers import ERRORS, QUERY
from champion.api.state import state_of
from champion.diagnostics.report import diagnose

__all__ = ["router"]

router = APIRouter(tags=["diagnostics"], responses=ERRORS)


@router.get(
    "/v1/diagnostics",
    response_model=DiagnosticsAnswer,
    # Without a readable database the report stops at the dependencies: no nulls for the rest.
    response_model_exclude_unset=True,
    responses=QUERY,
)
async def diagnostics(
    request: Request,
    history: int = Query(default=20, ge=1, le=500, description="Runs per pipeline."),
    live_rows: int = Query(default=1000, ge=1, le=100_000, description="Newest live inputs."),
) -> dict[str, Any]:
    state = state_of(request)
    loaded = {str(lv.version.key) for lv in state.serving.runtime.loaded()}
    return await asyncio.to_thread(
        diagnose,
        state.services,
        stages=state.serving.stages,
        loaded=loaded,
        history=history,
        live_rows=live_rows,
    )
