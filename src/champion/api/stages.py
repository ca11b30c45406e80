"""Pipeline endpoint routes: one request's stage records, and every stage's stats."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from champion.answers import RequestEventsAnswer, StageDriftAnswer, StageStatsAnswer
from champion.api.answers import ERRORS, LOOKUP
from champion.api.render import stats_json
from champion.api.schemas import EndpointName
from champion.api.state import state_of
from champion.clock import UserTime
from champion.db import read
from champion.errors import NotFound
from champion.evaluation import shadow_stats
from champion.events import version_stats
from champion.events.stages import request_events
from champion.serving.endpoints import EndpointConfig
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
    p50/p99 and fallbacks (its challenger failed and its champion answered), each shadow
    version beside the version that served (requests, failures, agreement, latency), and the
    requests that failed at the stage, by error code, counted by this server since it
    started. An endpoint without stages answers as one stage named after its policy."""
    state = state_of(request)
    names = _logged(state.services.endpoints.get(endpoint))
    with read(state.services.engine) as conn:
        found: list[dict[str, Any]] = [
            {
                "stage": name,
                "versions": [stats_json(s) for s in version_stats(conn, logged, start, end)],
                "shadows": [s.to_json() for s in shadow_stats(conn, logged, start, end)],
                "errors": state.metrics.errors_of(logged),
                "failures": state.metrics.failures_of(logged),
            }
            for name, logged in names
        ]
    if len(found) > 1:
        # The last stage's events and errors are the endpoint's: a request that failed at an
        # earlier stage is counted there and under the endpoint, so it is taken off here.
        last = dict(state.metrics.errors_of(endpoint))
        for _, logged in names[:-1]:
            for code, count in state.metrics.errors_of(logged).items():
                last[code] = last.get(code, 0) - count
        found[-1]["errors"] = {code: n for code, n in last.items() if n > 0}
    return {"endpoint": endpoint, "stages": found}


@router.get("/{endpoint}/drift/stages", response_model=StageDriftAnswer, responses=LOOKUP)
def endpoint_stage_drift(
    endpoint: EndpointName,
    request: Request,
    window: str = Query(default="1h", description="Width of each window: 15m, 1h, 1d…"),
    # le: drift.timeline.MAX_BUCKETS, written out so that champion.drift loads on first use.
    buckets: int = Query(default=24, ge=1, le=96, description="Consecutive windows."),
    end: UserTime | None = None,
    test: list[str] = Query(default=[], description="column=detector, repeatable"),  # noqa: B008
    correction: Literal["bh", "bonferroni", "none"] = "bh",
) -> Response:
    """Which stage of a pipeline endpoint moved first: per stage, over the same windows, its
    first drift alarm against its live version's reference and the versions that began to
    answer for it; ``moved_first`` names the stage whose first move is earliest (in one
    window, the earlier stage: its outputs are the later stages' inputs)."""
    from champion.drift.monitor import parse_tests
    from champion.drift.stages import stage_moves

    services = state_of(request).services
    moves = stage_moves(
        services.drift, endpoint, _logged(services.endpoints.get(endpoint)), window=window,
        buckets=buckets, end=end, tests=parse_tests(test), correction=correction,
    )  # fmt: skip
    return Response(orjson.dumps(moves.to_json()), media_type="application/json")


def _logged(config: EndpointConfig) -> list[tuple[str, str]]:
    """Each stage's name and the name its events are logged under; an endpoint without
    stages is one stage named after its policy."""
    if config.policy != STAGES:
        return [(config.policy, config.name)]
    stages = parse_stages(config.params)
    return [(s.name, stage_endpoint(config.name, s.name, stages)) for s in stages]
