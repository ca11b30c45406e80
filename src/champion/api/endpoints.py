"""Endpoint routes: configure, read, predict, rank, and per-version stats."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from champion.answers import (
    EndpointAnswer,
    EndpointHistoryAnswer,
    EndpointListAnswer,
    InterleavingAnswer,
    PredictAnswer,
    RankAnswer,
    StatsAnswer,
)
from champion.api.answers import ERRORS, LOOKUP, SERVE, UNIT_LEVEL, WRITE
from champion.api.lane import serve_body
from champion.api.parsing import body_openapi
from champion.api.render import endpoint_json, stats_json
from champion.api.schemas import EndpointBody, EndpointName, PredictBody, RankBody, Reason
from champion.api.state import actor_of, state_of
from champion.clock import UserTime
from champion.db import read
from champion.errors import ChampionError, InvalidInput
from champion.evaluation import ExperimentDesign, interleaving_comparisons, shadow_stats
from champion.events import version_stats, version_stats_by_window
from champion.events.aggregates import Scope
from champion.events.compacted import compacted_windows
from champion.events.cuts import chart_edges, cuts
from champion.serving.endpoints import KEEP, EndpointConfig
from champion.serving.policies import BanditPolicy
from champion.serving.stages import STAGES, parse_stages, stage_endpoint

__all__ = ["router"]

router = APIRouter(prefix="/v1/endpoints", tags=["endpoints"], responses=ERRORS)
MAX_STATS_BUCKETS = 60


# The request paths come first: routes are matched in order, and these are most of the calls.
# A running server answers them in api/lane.py (same body, same errors) without routing.
@router.post(
    "/{endpoint}/predict",
    openapi_extra=body_openapi(PredictBody),
    response_model=PredictAnswer,
    responses=SERVE,
)
async def predict(endpoint: EndpointName, request: Request) -> Response:
    serving = state_of(request).serving
    answer = await serve_body(serving, "predict", endpoint, await request.body())
    return Response(answer, media_type="application/json")


@router.post(
    "/{endpoint}/rank",
    openapi_extra=body_openapi(RankBody),
    response_model=RankAnswer,
    responses=SERVE,
)
async def rank(endpoint: EndpointName, request: Request) -> Response:
    serving = state_of(request).serving
    answer = await serve_body(serving, "rank", endpoint, await request.body())
    return Response(answer, media_type="application/json")


@router.get("", response_model=EndpointListAnswer)
def list_endpoints(request: Request) -> dict[str, Any]:
    state = state_of(request)
    return {
        "endpoints": [_describe(request, c.name) for c in state.services.endpoints.list_endpoints()]
    }


@router.get("/{endpoint}", response_model=EndpointAnswer, responses=LOOKUP)
def get_endpoint(endpoint: EndpointName, request: Request) -> dict[str, Any]:
    return _describe(request, endpoint)


@router.put("/{endpoint}", response_model=EndpointAnswer, responses=WRITE)
def set_endpoint(endpoint: EndpointName, body: EndpointBody, request: Request) -> dict[str, Any]:
    state = state_of(request)
    endpoints = state.services.endpoints
    # Load every version before storing anything: a version that cannot be served (tampered,
    # broken) is refused here and the endpoint keeps serving what it served.
    for ref in endpoints.validate(body.policy, body.params):
        state.serving.runtime.get(state.services.registry.resolve(ref).key)
    endpoints.set(
        endpoint,
        body.policy,
        body.params,
        actor=actor_of(request),
        reason=body.reason,
        salt=body.salt,
        batching=body.batching if "batching" in body.model_fields_set else KEEP,
    )
    state.serving.refresh()
    return _describe(request, endpoint)


@router.delete("/{endpoint}", response_model=EndpointAnswer, responses=WRITE)
def remove_endpoint(
    endpoint: EndpointName, request: Request, reason: Annotated[Reason, Query()] = ""
) -> dict[str, Any]:
    """Delete the endpoint (audited; its history stays); refused with a 409 while an
    experiment runs on it. Answers its last configuration."""
    state = state_of(request)
    removed = state.services.experiments.remove_endpoint(
        endpoint, actor=actor_of(request), reason=reason
    )
    state.serving.refresh()
    return endpoint_json(removed)


@router.get("/{endpoint}/history", response_model=EndpointHistoryAnswer, responses=LOOKUP)
def endpoint_history(endpoint: EndpointName, request: Request) -> dict[str, Any]:
    configs = state_of(request).services.endpoints.history(endpoint)
    return {"history": [endpoint_json(c) | {"reason": c.reason} for c in configs]}


@router.get("/{endpoint}/stats", response_model=StatsAnswer, responses=LOOKUP)
def endpoint_stats(
    endpoint: EndpointName,
    request: Request,
    start: UserTime | None = None,
    end: UserTime | None = None,
    buckets: int | None = Query(
        default=None,
        ge=1,
        le=MAX_STATS_BUCKETS,
        description="Also cut [start, end) into this many windows (needs start; end "
        "defaults to now) and answer each window's per-version stats in 'buckets'. Windows "
        "are equal, save that when one is at least a rollup segment wide "
        "(CHAMPION_ROLLUP_SEGMENT_SECONDS) the edges between windows move back to the "
        "segment boundary before them; each window says its start and end.",
    ),
) -> dict[str, Any]:
    """Per version: requests, impressions, CTR, feedback, fallbacks, latency p50/p99 over
    [start, end); per shadow version beside the version that served: requests scored,
    failures, agreement, both versions' latency and label metrics; and the requests that
    failed, by error code, counted by this server since it started (failed requests are not
    in the event log). With ``buckets``, one request draws a chart of consecutive windows."""
    state = state_of(request)
    state.services.endpoints.get(endpoint)
    edges = None
    if buckets is not None:
        if start is None:
            raise InvalidInput(
                f"The 'buckets' parameter needs 'start' (and 'end', by default now) to cut "
                f"into windows. Got buckets={buckets!r} without start."
            )
        end = end or state.services.clock.now()
        if start >= end:
            raise InvalidInput(
                f"'start' must be before 'end'. Got start={start.isoformat()!r}, "
                f"end={end.isoformat()!r}."
            )
        segment = timedelta(seconds=state.services.settings.rollup_segment_seconds)
        edges = chart_edges(start, end, buckets, segment)
    with read(state.services.engine) as conn:
        stats = version_stats(conn, endpoint, start, end)
        compacted = compacted_windows(conn, endpoint, start, end)
        inner = [] if edges is None else edges[1:-1]
        whole = cuts(conn, Scope(endpoint, start=start, end=end), inner).whole
        shadows = shadow_stats(conn, endpoint, start, end)
        windows = (
            []
            if edges is None
            else [
                {
                    "start": a.isoformat(),
                    "end": b.isoformat(),
                    "versions": [stats_json(s) for s in found],
                }
                for (a, b), found in zip(
                    itertools.pairwise(edges),
                    version_stats_by_window(conn, endpoint, edges),
                    strict=True,
                )
            ]
        )
    body: dict[str, Any] = {
        "endpoint": endpoint,
        "versions": [stats_json(s) for s in stats],
        "shadows": [s.to_json() for s in shadows],
        "errors": state.metrics.errors_of(endpoint),
        "compacted": [{"start": a.isoformat(), "end": b.isoformat()} for a, b in compacted],
        "whole_segments": [
            {"start": a.isoformat(), "end": None if b is None else b.isoformat()} for a, b in whole
        ],
    }
    if edges is not None:
        body["buckets"] = windows
    return body


@router.get("/{endpoint}/interleaving", response_model=InterleavingAnswer, responses=UNIT_LEVEL)
def endpoint_interleaving(
    endpoint: EndpointName,
    request: Request,
    start: UserTime | None = None,
    end: UserTime | None = None,
    alpha: float = Query(default=0.05, gt=0, le=0.5),
    test: Literal["sequential", "t", "sign", "bootstrap"] = "sequential",
) -> dict[str, Any]:
    """Which ranker users prefer: per champion/challenger pair, each unit's wins and losses
    give one preference; the mean preference (units weighted equally) is tested over units,
    always-valid by default or with a fixed-horizon ``t``, ``sign`` or ``bootstrap`` test.
    Impression-level wins, losses, ties and Δ_AB are reported as a description."""
    state = state_of(request)
    state.services.endpoints.get(endpoint)
    design = ExperimentDesign(
        goal="interleaving",
        alpha=alpha,
        method="sequential" if test == "sequential" else "interleaving",
        interleaving_test="t" if test == "sequential" else test,
    )
    with read(state.services.engine) as conn:
        comparisons = interleaving_comparisons(conn, endpoint, start, end, design=design)
    return {"endpoint": endpoint, "comparisons": [c.to_json() for c in comparisons]}


def _describe(request: Request, name: str) -> dict[str, Any]:
    state = state_of(request)
    config = state.services.endpoints.get(name)
    active = state.serving.status().get(name)
    serving = [str(k) for k in active.loaded] if active else []
    error = active.error.message if active and active.error else None
    body = endpoint_json(config, serving, error)
    # What the dashboard needs to show the panels that apply: the kind of model served and
    # the version that serves when no other does (the champion).
    body["kind"] = body["live"] = None
    try:
        live = state.services.endpoints.live_version(name)
        body["kind"] = state.services.registry.get_version(live.model, live.number).kind
        body["live"] = str(live)
    except ChampionError:
        pass  # a configuration that cannot be built serves nothing: its error says why
    if active is not None and isinstance(active.policy, BanditPolicy):
        body["bandit"] = _bandit(active.policy)
    if config.policy == STAGES:
        chain = active.chain if active is not None else ()
        bandits = [a.policy if isinstance(a.policy, BanditPolicy) else None for a in chain]
        body["stages"] = _stages(request, config, bandits)
    return body


def _bandit(policy: BanditPolicy) -> dict[str, Any]:
    return {
        arm: {"successes": s, "trials": n, "probability": policy.probabilities[arm]}
        for arm, (s, n) in policy.counts.items()
    }


def _stages(
    request: Request, config: EndpointConfig, bandits: list[BanditPolicy | None]
) -> list[dict[str, Any]]:
    """Each stage as it serves now: its policy, the versions it may call, its champion and
    its bandit's state (``bandits``: each stage's, when the endpoint serves)."""
    endpoints = state_of(request).services.endpoints
    stages = parse_stages(config.params)
    described = []
    for n, stage in enumerate(stages):
        logged = stage_endpoint(config.name, stage.name, stages)
        try:
            live: str | None = str(endpoints.live_version(logged))
            serving = [str(key) for key in endpoints.configured_versions(logged)]
        except ChampionError:
            live, serving = None, []  # the configuration's error says why
        bandit = bandits[n] if len(bandits) == len(stages) else None
        described.append(
            {
                "stage": stage.name,
                "policy": stage.policy,
                "params": dict(stage.params),
                "serving": serving,
                "live": live,
                "bandit": None if bandit is None else _bandit(bandit),
            }
        )
    return described
