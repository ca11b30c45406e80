"""Experiments from Python: read them, design one, approve, promote or roll back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from champion.client.calls import Call, Sender, segment

__all__ = ["ExperimentCalls"]

R = TypeVar("R")


class ExperimentCalls(Sender[R]):
    def list_experiments(self) -> R:
        """Each endpoint's current (or last) experiment, with its last decision."""
        return self._send(Call("GET", "/v1/experiments", pick="experiments"))

    def get_experiment(self, endpoint: str) -> R:
        """The experiment's report: arms, tests with intervals, health and the decision."""
        return self._send(Call("GET", f"/v1/endpoints/{segment(endpoint)}/experiment"))

    def set_experiment(
        self,
        endpoint: str,
        goal: str,
        *,
        guardrails: Sequence[dict[str, Any]] | None = None,
        reason: str = "",
        **design: Any,
    ) -> R:
        """Start an experiment on the endpoint's comparison, or change the running one:
        ``set_experiment("churn", "click_rate", automation="approve", min_sample=500)``.

        ``design`` takes the other fields of an experiment design (``method``, ``alpha``,
        ``ramp``, ``automation``, ...); the server names any it refuses.
        """
        body: dict[str, Any] = {"goal": goal, **design, "reason": reason}
        if guardrails is not None:
            body["guardrails"] = [dict(g) for g in guardrails]
        path = f"/v1/endpoints/{segment(endpoint)}/experiment"
        return self._send(Call("PUT", path, json=body))

    def experiment_timeline(self, endpoint: str, *, points: int = 12) -> R:
        """The experiment at ``points`` evenly spaced moments since it started (cumulative)."""
        path = f"/v1/endpoints/{segment(endpoint)}/experiment/timeline"
        return self._send(Call("GET", path, params={"points": points}))

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
    ) -> R:
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
        return self._send(Call("GET", path, params=params))

    def approve(self, endpoint: str, *, reason: str = "") -> R:
        """Carry out the action the rollout controller proposed (automation ``approve``)."""
        return self._action(endpoint, "approve", {"reason": reason})

    def promote(self, endpoint: str, *, arm: str | None = None, reason: str = "") -> R:
        """Promote the challenger now (``arm`` names it when there are several)."""
        body: dict[str, Any] = {"reason": reason}
        if arm is not None:
            body["arm"] = arm
        return self._action(endpoint, "promote", body)

    def rollback(self, endpoint: str, *, reason: str = "") -> R:
        """Send every unit back to the champion, or undo a promotion."""
        return self._action(endpoint, "rollback", {"reason": reason})

    def _action(self, endpoint: str, action: str, body: dict[str, Any]) -> R:
        path = f"/v1/endpoints/{segment(endpoint)}/experiment/{action}"
        return self._send(Call("POST", path, json=body))
