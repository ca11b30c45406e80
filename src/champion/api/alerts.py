"""Alert routes: the alert history and the rules that raise alerts."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import Field, StrictFloat

from champion.answers import (
    AlertChangesAnswer,
    AlertListAnswer,
    AlertRuleAnswer,
    AlertRuleListAnswer,
)
from champion.api.answers import ERRORS, LOOKUP, QUERY, WRITE, errors
from champion.api.schemas import Reason, RequestBody
from champion.api.state import actor_of, state_of

__all__ = ["AlertRuleBody", "router"]

router = APIRouter(prefix="/v1/alerts", tags=["alerts"], responses=ERRORS)


class AlertRuleBody(RequestBody):
    endpoint: str = Field(min_length=1, max_length=64)
    stage: str | None = Field(
        default=None, min_length=1, max_length=31, description="A pipeline endpoint's stage."
    )
    metric: str = Field(description="drift_share, drifted_columns, quality_bad_share, …")
    threshold: StrictFloat = Field(allow_inf_nan=False)
    operator: Literal["above", "below"] = "above"
    window: str = Field(default="1h", description="15m, 1h, 7d…")
    severity: Literal["info", "warning", "critical"] = "warning"
    cooldown: str = Field(default="1h", description="least time between two openings")
    sinks: list[dict[str, Any]] = Field(
        default_factory=lambda: [{"type": "log"}], min_length=1, max_length=20
    )
    description: str = Field(default="", max_length=2000)
    reason: str = Field(default="", max_length=2000)


@router.get("", response_model=AlertListAnswer, responses=QUERY)
def list_alerts(
    request: Request, state: Literal["open", "resolved"] | None = None, limit: int = 100
) -> dict[str, Any]:
    """Alerts, newest first: open ones and the resolved history."""
    alerts = state_of(request).services.alerts.list_alerts(state, max(1, min(limit, 1000)))
    return {"alerts": [a.to_json() for a in alerts]}


@router.post("/evaluate", response_model=AlertChangesAnswer, responses=errors(507))
def evaluate(request: Request) -> dict[str, Any]:
    """Evaluate every rule now (the server also does it on its schedule)."""
    changed = state_of(request).services.alerts.evaluate()
    return {"changed": [a.to_json() for a in changed]}


@router.get("/rules", response_model=AlertRuleListAnswer)
def list_rules(request: Request) -> dict[str, Any]:
    return {"rules": [r.to_json() for r in state_of(request).services.alerts.list_rules()]}


@router.get("/rules/{name}", response_model=AlertRuleAnswer, responses=LOOKUP)
def get_rule(name: str, request: Request) -> dict[str, Any]:
    return state_of(request).services.alerts.get_rule(name).to_json()


@router.put("/rules/{name}", response_model=AlertRuleAnswer, responses=WRITE)
def put_rule(name: str, body: AlertRuleBody, request: Request) -> dict[str, Any]:
    from champion.alerts.rules import AlertRule

    service = state_of(request).services.alerts
    fields = body.model_dump(exclude={"reason"})
    rule = AlertRule.create(name, **fields)
    return service.put_rule(rule, actor=actor_of(request), reason=body.reason).to_json()


@router.delete("/rules/{name}", status_code=204, responses=WRITE)
def delete_rule(name: str, request: Request, reason: Annotated[Reason, Query()] = "") -> None:
    state_of(request).services.alerts.delete_rule(name, actor=actor_of(request), reason=reason)
