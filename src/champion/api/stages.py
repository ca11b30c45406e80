"""Pipeline endpoint routes: one request's stage records, and every stage's stats."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request

from champion.answers import RequestEventsAnswer, StageStatsAnswer
from champion.api.answers import ERRORS, LOOKUP
from champion.api.render import stats_json
from champion.api.schemas import EndpointName
from champion.api.state import state_of
from champion.clock import UserTime
from champion.db import read
from champion.errors import NotFound
from champion.events import version_stats
from champion.events.stages import request_events
from champion.serving.stages import STAGES, parse_stages, stage_endpoint, stage_event_id

__all__ = ["router"]

router = APIRouter(prefix="/v1/endpoints", tags=["endpoints"], responses=ERRORS)


@router.get(
    "/{endpoint}/requests/{request_id}", response_model=RequestEventsAnswer, responses=LOOKUP
)
def endpoint_request(
    endpoint: EndpointName,
    request_id: Annotated[str, Path(min_length=1, max_length=64)],
    request: Request,
) -> dict[str, Any]:
    """The prediction events of one request: for a pipeline endpoint one per stage, in
    order, each with its inputs, outputs, version, arm and latency (404 until written)."""
    state = state_of(request)
    config = state.services.endpoints.get(endpoint)
    stages = parse_stages(config.params) if config.policy == STAGES else ()
    ids = [stage_event_id(request_id, s.name, stages) for s in stages] or [request_id]
    with read(state.services.engine) as conn:
        events = request_events(conn, request_id, ids)
    if not events:
        raise NotFound(
            f"No prediction event of request {request_id!r} on endpoint {endpoint!r} (events "
            "are written a moment after the answer, and retention deletes old ones)."
        )
    return {"endpoint": endpoint, "request_id": request_id, "events": events}


@router.get("/{endpoint}/stages", response_model=StageStatsAnswer, responses=LOOKUP)
def endpoint_stages(
    endpoint: EndpointName,
    request: Request,
    start: UserTime | None = None,
    end: UserTime | None = None,
) -> dict[str, Any]:
    """Per stage of a pipeline endpoint, over [start, end): each version's requests, latency
    p50/p99 and fallbacks (its challenger failed and its champion answered), and the
    requests that failed at the stage, by error code, counted by this server since it
    started. An endpoint without stages answers as one stage named after its policy."""
    state = state_of(request)
    config = state.services.endpoints.get(endpoint)
    stages = parse_stages(config.params) if config.policy == STAGES else ()
    names = [(s.name, stage_endpoint(endpoint, s.name, stages)) for s in stages] or [
        (config.policy, endpoint)
    ]
    with read(state.services.engine) as conn:
        found = [
            {
                "stage": name,
                "versions": [stats_json(s) for s in version_stats(conn, logged, start, end)],
                "errors": state.metrics.errors_of(logged),
                "failures": state.metrics.failures_of(logged),
            }
            for name, logged in names
        ]
    return {"endpoint": endpoint, "stages": found}
