"""Rollout actions on an experiment: ramp, promote, roll back, propose and approve.

Each action is one transaction: the endpoint's new configuration, the alias moves, the
experiment's new state and their audit records commit together or not at all, and the
experiment's revision makes sure two actors (two controllers, a controller and a person)
never both act on the same state.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa

from champion.clock import Clock
from champion.db import write
from champion.errors import Conflict, InvalidInput
from champion.evaluation.arms import ExperimentArms
from champion.evaluation.decision import Decision
from champion.evaluation.experiments import Experiment, Experiments
from champion.registry import Registry
from champion.serving.endpoints import EndpointConfig, Endpoints
from champion.serving.stages import policy_under_test

__all__ = ["ACTIONS", "Rollout"]

logger = logging.getLogger("champion.automation")

ACTIONS = ("ramp", "promote", "rollback")


class Rollout:
    """Carries out what an experiment's decision says (or what a person asks)."""

    def __init__(
        self,
        engine: sa.Engine,
        registry: Registry,
        endpoints: Endpoints,
        experiments: Experiments,
        clock: Clock,
    ) -> None:
        self.engine = engine
        self.registry = registry
        self.endpoints = endpoints
        self.experiments = experiments
        self.clock = clock

    def act(
        self, experiment: Experiment, decision: Decision, *, actor: str, reason: str = ""
    ) -> Experiment:
        """Carry out ``decision.action`` (ramp, promote or rollback)."""
        why = reason or decision.reason
        if decision.action == "ramp" and decision.share is not None:
            return self.ramp(experiment, decision.share, actor=actor, reason=why, why=decision)
        if decision.action == "promote":
            return self.promote(experiment, actor=actor, reason=why, arm=decision.arm, why=decision)
        if decision.action == "rollback":
            return self.rollback(experiment, actor=actor, reason=why, why=decision)
        raise InvalidInput(f"Nothing to carry out: the decision's action is {decision.action!r}.")

    def ramp(
        self,
        experiment: Experiment,
        share: float,
        *,
        actor: str,
        reason: str,
        why: Decision | None = None,
    ) -> Experiment:
        """Give the canary ``share`` of units; ramping only adds units."""
        arms = self._running_arms(experiment)
        if arms.policy != "canary" or arms.share is None:
            raise InvalidInput(
                f"Only a canary ramps; endpoint {experiment.endpoint!r} runs {arms.policy}."
            )
        if not arms.share < share <= 1.0:
            raise InvalidInput(
                f"The 'share' of a ramp must be a float in the range ({arms.share:g}, 1]: "
                f"ramping only adds units. Got {share!r} instead."
            )
        config = self.endpoints.get(experiment.endpoint)
        now = self.clock.now()
        with write(self.engine) as conn:
            self.endpoints.set_arms(
                experiment.endpoint,
                "canary",
                {**_arms_params(config), "share": share},
                actor=actor,
                reason=reason,
                conn=conn,
            )
            self.experiments.update(
                conn,
                experiment,
                actor=actor,
                action="experiment.ramp",
                reason=reason,
                details={"from": arms.share, "to": share, **_decided(why)},
                step_started_at=now,
                pending=None,
                last_decision=_last(why, now),
            )
        return self.experiments.get(experiment.endpoint)

    def promote(
        self,
        experiment: Experiment,
        *,
        actor: str,
        reason: str,
        arm: str | None = None,
        why: Decision | None = None,
    ) -> Experiment:
        """Move ``champion`` to the winning arm's version; the endpoint serves it alone, with
        the previous champion still loaded (blue_green) for an instant rollback."""
        arms = self._running_arms(experiment)
        if arm is None:
            if len(arms.challengers) != 1:
                raise InvalidInput(
                    f"Name the arm to promote: endpoint {experiment.endpoint!r} has several "
                    f"challengers ({', '.join(arms.challengers)})."
                )
            arm = arms.challengers[0]
        if arm not in arms.challengers:
            raise InvalidInput(
                f"Unknown arm {arm!r} to promote; challengers: {', '.join(arms.challengers)}."
            )
        winner, previous = arms.versions[arm], arms.versions[arms.control]
        compared = _compared(
            experiment, arms, _arms_params(self.endpoints.get(experiment.endpoint))
        )
        params = _timed(arms, blue=str(previous), green=str(winner), live="green")
        with write(self.engine) as conn:
            self.registry.set_alias(
                winner.model, "champion", winner.number, actor=actor, reason=reason, conn=conn
            )
            config = self.endpoints.set_arms(
                experiment.endpoint, "blue_green", params, actor=actor, reason=reason, conn=conn
            )
            outcome = compared | {
                "promoted": {
                    "version": str(winner),
                    "previous": str(previous),
                    "config_version": config.config_version,
                }
            }
            self._finish(
                conn,
                experiment,
                "promote",
                actor=actor,
                reason=reason,
                why=why,
                details={"version": str(winner), "previous": str(previous)},
                outcome=outcome,
            )
        return self.experiments.get(experiment.endpoint)

    def rollback(
        self, experiment: Experiment, *, actor: str, reason: str, why: Decision | None = None
    ) -> Experiment:
        """Send every unit back to the champion; after a promotion, switch back to the
        previous champion (still loaded) and move ``champion`` back to it."""
        if experiment.status == "promoted":
            return self._undo_promotion(experiment, actor=actor, reason=reason)
        arms = self._running_arms(experiment)
        compared = _compared(
            experiment, arms, _arms_params(self.endpoints.get(experiment.endpoint))
        )
        params = _timed(arms, version=arms.refs[arms.control])
        with write(self.engine) as conn:
            self.endpoints.set_arms(
                experiment.endpoint, "single", params, actor=actor, reason=reason, conn=conn
            )
            self._finish(
                conn,
                experiment,
                "rollback",
                actor=actor,
                reason=reason,
                why=why,
                details={"kept": str(arms.versions[arms.control])},
                outcome=compared,
            )
        return self.experiments.get(experiment.endpoint)

    def _finish(
        self,
        conn: sa.Connection,
        experiment: Experiment,
        action: str,
        *,
        actor: str,
        reason: str,
        why: Decision | None,
        details: dict[str, Any],
        outcome: dict[str, Any],
    ) -> None:
        now = self.clock.now()
        self.experiments.update(
            conn,
            experiment,
            actor=actor,
            action=f"experiment.{action}",
            reason=reason,
            details=details | _decided(why),
            pending=None,
            outcome=outcome,
            finished_at=now,
            status="promoted" if action == "promote" else "rolled_back",
            last_decision=_last(why, now, action, reason),
        )

    def _undo_promotion(self, experiment: Experiment, *, actor: str, reason: str) -> Experiment:
        promoted = (experiment.outcome or {}).get("promoted", {})
        current = self.endpoints.get(experiment.endpoint)
        if current.config_version != promoted.get("config_version"):
            raise Conflict(
                f"Endpoint {experiment.endpoint!r} changed since the promotion (configuration "
                f"{promoted.get('config_version')} → {current.config_version}); configure it "
                "by hand instead."
            )
        previous = self.registry.resolve(promoted["previous"]).key
        now = self.clock.now()
        with write(self.engine) as conn:
            self.endpoints.set_arms(
                experiment.endpoint,
                "blue_green",
                {**_arms_params(current), "live": "blue"},
                actor=actor,
                reason=reason,
                conn=conn,
            )
            self.registry.set_alias(
                previous.model, "champion", previous.number, actor=actor, reason=reason, conn=conn
            )
            self.experiments.update(
                conn,
                experiment,
                actor=actor,
                action="experiment.rollback",
                reason=reason,
                details={"undid_promotion_of": promoted["version"], "kept": str(previous)},
                status="rolled_back",
                outcome={**(experiment.outcome or {}), "rolled_back": now.isoformat()},
                last_decision=_last(None, now, "rollback", reason),
            )
        return self.experiments.get(experiment.endpoint)

    def propose(self, experiment: Experiment, decision: Decision | None, *, actor: str) -> bool:
        """Leave ``decision`` waiting for a person (automation ``approve``); None withdraws a
        proposal that no longer holds. Audited, and True, only when the proposal changes."""
        wanted = None if decision is None else decision.to_json()
        held = None if experiment.pending is None else dict(experiment.pending)
        if held is not None:
            held.pop("proposed_at", None)
        if _same_action(wanted, held):
            return False
        with write(self.engine) as conn:
            self.experiments.update(
                conn,
                experiment,
                actor=actor,
                action="experiment.propose" if wanted else "experiment.withdraw",
                reason=decision.reason if decision else "the proposal no longer holds",
                details={"pending": wanted},
                pending=None
                if wanted is None
                else wanted | {"proposed_at": self.clock.now().isoformat()},
            )
        return True

    def approve(self, endpoint: str, *, actor: str, reason: str = "") -> Experiment:
        """Carry out the action the controller proposed for ``endpoint``."""
        experiment = self.experiments.get(endpoint)
        if not experiment.running or not experiment.pending:
            state = "ended" if not experiment.running else "has nothing waiting for approval"
            raise Conflict(
                f"Nothing to approve on {endpoint!r}: the experiment {state}. The controller "
                "proposes an action when the experiment's automation is 'approve'."
            )
        pending = experiment.pending
        decision = Decision(
            pending["decision"],
            pending["action"],
            pending["reason"],
            pending.get("arm"),
            pending.get("share"),
        )
        why = f"approved by {actor}" + (f" ({reason})" if reason else "") + f": {decision.reason}"
        return self.act(experiment, decision, actor=actor, reason=why)

    def _running_arms(self, experiment: Experiment) -> ExperimentArms:
        if not experiment.running:
            raise Conflict(
                f"The experiment on {experiment.endpoint!r} already ended "
                f"({experiment.status.replace('_', ' ')})."
            )
        return self.experiments.arms(experiment)


def _compared(
    experiment: Experiment, arms: ExperimentArms, params: dict[str, Any]
) -> dict[str, Any]:
    """What the experiment compared, with references pinned to the versions they meant."""
    pinned = {ref: str(arms.versions[arm]) for arm, ref in arms.refs.items()}
    config = {"policy": arms.policy, "params": params, "versions": pinned}
    if arms.stage is not None:
        config["stage"] = arms.stage
    return {"compared": config, **(experiment.outcome or {})}


def _arms_params(config: EndpointConfig) -> dict[str, Any]:
    """The parameters of what the endpoint's experiment compares (a pipeline endpoint's:
    its stage under test's)."""
    return dict(policy_under_test(config.policy, config.params)[1])


def _timed(arms: ExperimentArms, **params: Any) -> dict[str, Any]:
    """Policy parameters that keep the experiment's call timeout."""
    return params if arms.timeout_ms is None else params | {"timeout_ms": arms.timeout_ms}


def _decided(why: Decision | None) -> dict[str, Any]:
    return {} if why is None else {"decision": why.to_json()}


def _last(
    why: Decision | None, now: Any, action: str | None = None, reason: str = ""
) -> dict[str, Any]:
    if why is not None:
        return {**why.to_json(), "at": now.isoformat()}
    return {
        "decision": action or "continue",
        "action": action,
        "reason": reason,
        "at": now.isoformat(),
    }


def _same_action(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    if a is None or b is None:
        return a is b
    return (a["action"], a.get("share"), a.get("arm")) == (
        b["action"],
        b.get("share"),
        b.get("arm"),
    )
