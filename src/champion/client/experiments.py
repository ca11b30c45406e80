"""Experiments from Python: read them, design one, approve, promote or roll back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from champion.answers import (
    ExperimentListAnswer,
    ExperimentReport,
    ExperimentSummary,
    PlanAnswer,
    TimelineAnswer,
)
from champion.client.calls import Call, operation, read, segment

__all__ = ["ExperimentCalls"]


class ExperimentCalls:
    @operation
    def list_experiments(self) -> Call[list[ExperimentSummary]]:
        """Each endpoint's current (or last) experiment, with its last decision."""
        return Call(
            "GET",
            "/v1/experiments",
            lambda body: ExperimentListAnswer.model_validate(body).experiments,
        )

    @operation
    def get_experiment(self, endpoint: str) -> Call[ExperimentReport]:
        """The experiment's report: arms, tests with intervals, health and the decision."""
        path = f"/v1/endpoints/{segment(endpoint)}/experiment"
        return Call("GET", path, read(ExperimentReport))

    @operation
    def set_experiment(
        self,
        /,
        endpoint: str,
        goal: str,
        *,
        guardrails: Sequence[dict[str, Any]] | None = None,
        reason: str = "",
        **design: Any,
    ) -> Call[ExperimentReport]:
        """Start an experiment on the endpoint's comparison, or change the running one:
        ``set_experiment("churn", "click_rate", automation="approve", min_sample=500)``.

        ``design`` takes the other fields of an experiment design (``method``, ``alpha``,
        ``ramp``, ``automation``, ...); the server names any it refuses.
        """
        body: dict[str, Any] = {"goal": goal, **design, "reason": reason}
        if guardrails is not None:
            body["guardrails"] = [dict(g) for g in guardrails]
        path = f"/v1/endpoints/{segment(endpoint)}/experiment"
        return Call("PUT", path, read(ExperimentReport), json=body)

    @operation
    def experiment_timeline(self, endpoint: str, *, points: int = 12) -> Call[TimelineAnswer]:
        """The experiment at ``points`` evenly spaced moments since it started (cumulative)."""
        path = f"/v1/endpoints/{segment(endpoint)}/experiment/timeline"
        return Call("GET", path, read(TimelineAnswer), params={"points": points})

    @operation
    def plan_experiment(
        self,
        endpoint: str,
        goal: str,
        mde: float,
        *,
        relative: bool = False,
        method: str | None = None,
        history_days: float = 14.0,
        preference: float = 0.05,
    ) -> Call[PlanAnswer]:
        """Units per arm and days an experiment needs, from the endpoint's own history:
        ``plan_experiment("churn", "click_rate", 0.05, relative=True)``."""
        params: dict[str, Any] = {
            "goal": goal,
            "mde": mde,
            "relative": relative,
            "history_days": history_days,
            "preference": preference,
        }
        if method is not None:
            params["method"] = method
        path = f"/v1/endpoints/{segment(endpoint)}/experiment/plan"
        return Call("GET", path, read(PlanAnswer), params=params)

    @operation
    def approve(self, endpoint: str, *, reason: str = "") -> Call[ExperimentReport]:
        """Carry out the action the rollout controller proposed (automation ``approve``)."""
        return _action(endpoint, "approve", {"reason": reason})

    @operation
    def promote(
        self, endpoint: str, *, arm: str | None = None, reason: str = ""
    ) -> Call[ExperimentReport]:
        """Promote the challenger now (``arm`` names it when there are several)."""
        body: dict[str, Any] = {"reason": reason}
        if arm is not None:
            body["arm"] = arm
        return _action(endpoint, "promote", body)

    @operation
    def rollback(self, endpoint: str, *, reason: str = "") -> Call[ExperimentReport]:
        """Send every unit back to the champion, or undo a promotion."""
        return _action(endpoint, "rollback", {"reason": reason})


def _action(endpoint: str, action: str, body: dict[str, Any]) -> Call[ExperimentReport]:
    path = f"/v1/endpoints/{segment(endpoint)}/experiment/{action}"
    return Call("POST", path, read(ExperimentReport), json=body)
