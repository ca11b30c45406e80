"""Experiment routes: design, read (numbers, tests, health, decision, their history),
approve, promote, roll back; and every endpoint's experiment at a glance."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import Field

from champion.answers import ExperimentListAnswer, ExperimentReport, PlanAnswer, TimelineAnswer
from champion.api.answers import ERRORS, UNIT_LEVEL, WRITE
from champion.api.render import json_response
from champion.api.schemas import ActionBody, EndpointName, RequestBody
from champion.api.state import actor_of, state_of
from champion.evaluation.design import ExperimentDesign
from champion.evaluation.timeline import MAX_POINTS, experiment_timeline

__all__ = ["router"]

router = APIRouter(tags=["experiments"], responses=ERRORS)


class ExperimentBody(ExperimentDesign, RequestBody):
    reason: str = Field(default="", max_length=2000)


def _report(request: Request, endpoint: str) -> Response:
    services = state_of(request).services
    experiment = services.experiments.get(endpoint)
    return json_response(services.experiments.report(experiment).to_json())


@router.get(
    "/v1/endpoints/{endpoint}/experiment", response_model=ExperimentReport, responses=UNIT_LEVEL
)
def get_experiment(endpoint: EndpointName, request: Request) -> Response:
    """The endpoint's experiment: design, state, per-arm numbers, test results with
    intervals, health checks (SRM, coverage) and the decision with its reason."""
    return _report(request, endpoint)


@router.get("/v1/experiments", response_model=ExperimentListAnswer)
def list_experiments(request: Request) -> dict[str, Any]:
    """Each endpoint's current (or last) experiment: status, design, what waits for
    approval and the decision the controller reached last (the report computes it now)."""
    found = state_of(request).services.experiments.latest()
    return {"experiments": [e.to_json() | {"last_decision": e.last_decision} for e in found]}


@router.get(
    "/v1/endpoints/{endpoint}/experiment/timeline",
    response_model=TimelineAnswer,
    responses=UNIT_LEVEL,
)
def get_timeline(
    endpoint: EndpointName,
    request: Request,
    points: int = Query(default=12, ge=1, le=MAX_POINTS, description="Evenly spaced looks."),
) -> Response:
    """The experiment as it stood at evenly spaced moments since it started: per arm the
    goal metric with its interval, the goal's effect with its interval, interleaving
    wins and losses. Each look is cumulative; the last one is the report's."""
    services = state_of(request).services
    experiment = services.experiments.get(endpoint)
    timeline = experiment_timeline(services.experiments, experiment, points=points)
    return json_response(timeline.to_json())


@router.get(
    "/v1/endpoints/{endpoint}/experiment/plan", response_model=PlanAnswer, responses=UNIT_LEVEL
)
def get_plan(
    endpoint: EndpointName,
    request: Request,
    goal: str = Query(description="The goal metric to plan for."),
    mde: float = Query(gt=0, allow_inf_nan=False, description="Smallest change worth finding."),
    relative: bool = Query(default=False, description="mde is a share of the baseline."),
    method: Literal["sequential", "delta", "welch", "bayesian", "interleaving"] | None = Query(
        default=None, description="The goal's test (default: the experiment's or sequential)."
    ),
    history_days: float = Query(
        default=14.0, gt=0, le=365, description="Days of history to estimate from."
    ),
    preference: float = Query(
        default=0.05, gt=0, le=0.5, description="Interleaving: the Δ_AB to find."
    ),
) -> Response:
    """Units per arm (and days at the endpoint's traffic) an experiment needs, from the
    endpoint's own history: the goal at the design's power, each guardrail's
    non-inferiority at ``1 - beta / guardrails``, and for rankers interleaving."""
    from champion.evaluation.planning import plan  # needs SciPy's optimize: only when asked

    services = state_of(request).services
    found = plan(
        services.experiments,
        endpoint,
        goal=goal,
        mde=mde,
        relative=relative,
        method=method,
        history_days=history_days,
        preference=preference,
    )
    return json_response(found.to_json())


@router.put("/v1/endpoints/{endpoint}/experiment", response_model=ExperimentReport, responses=WRITE)
def set_experiment(endpoint: EndpointName, body: ExperimentBody, request: Request) -> Response:
    """Start an experiment on the endpoint's current comparison, or change the running one."""
    design = body.model_dump(exclude={"reason"}, exclude_unset=True)
    state_of(request).services.experiments.set(
        endpoint, design, actor=actor_of(request), reason=body.reason
    )
    return _report(request, endpoint)


@router.post(
    "/v1/endpoints/{endpoint}/experiment/approve", response_model=ExperimentReport, responses=WRITE
)
def approve(endpoint: EndpointName, body: ActionBody, request: Request) -> Response:
    """Carry out the action the controller proposed (automation ``approve``)."""
    rollout = state_of(request).services.rollout
    rollout.approve(endpoint, actor=actor_of(request), reason=body.reason)
    state_of(request).serving.refresh()
    return _report(request, endpoint)


@router.post(
    "/v1/endpoints/{endpoint}/experiment/promote", response_model=ExperimentReport, responses=WRITE
)
def promote(endpoint: EndpointName, body: ActionBody, request: Request) -> Response:
    """Promote the challenger now (``arm`` names it when there are several)."""
    services = state_of(request).services
    experiment = services.experiments.get(endpoint)
    reason = body.reason or "promoted by hand"
    services.rollout.promote(experiment, actor=actor_of(request), reason=reason, arm=body.arm)
    state_of(request).serving.refresh()
    return _report(request, endpoint)


@router.post(
    "/v1/endpoints/{endpoint}/experiment/rollback", response_model=ExperimentReport, responses=WRITE
)
def rollback(endpoint: EndpointName, body: ActionBody, request: Request) -> Response:
    """Send every unit back to the champion; after a promotion, switch back to the previous
    champion (still loaded) at once."""
    services = state_of(request).services
    experiment = services.experiments.get(endpoint)
    reason = body.reason or "rolled back by hand"
    services.rollout.rollback(experiment, actor=actor_of(request), reason=reason)
    state_of(request).serving.refresh()
    return _report(request, endpoint)
