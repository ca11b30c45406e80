"""The rollout controller: looks at every running experiment and acts on its decision.

It runs inside every server (a background task of the lifespan), but only the holder of the
leader lock acts, so exactly one controller works at a time however many servers share the
database; when the leader stops or dies another one takes over at its next look. What it
does depends on the experiment's automation level:

* ``manual``: it only reports (the decision is stored and counted);
* ``approve``: ramps and promotions wait for ``POST .../experiment/approve`` or
  ``champion experiment approve``; a rollback happens at once;
* ``auto``: it ramps, promotes and rolls back by itself.

Estimated performance (``early.EarlySignal``) may hold a ramp or a promotion whose challenger
is estimated worse than the champion before labels arrive; it is never consulted otherwise,
so it never starts a ramp, a promotion or a rollback.

Time comes from the clock it is given: tests drive it with a fixed clock moved by hand.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass

import sqlalchemy as sa

from champion.automation.early import EarlySignal
from champion.automation.rollout import ACTIONS, Rollout
from champion.db.locks import LeaderLock
from champion.errors import ChampionError, Conflict
from champion.evaluation.decision import Decision
from champion.evaluation.experiments import Experiments
from champion.metrics import Metrics

__all__ = ["ControllerLook", "RolloutController"]

logger = logging.getLogger("champion.automation")

LOCK_NAME = "rollout-controller"


@dataclass(frozen=True)
class ControllerLook:
    """What one look at one experiment found and did: ``acted``, ``proposed``, ``reported``
    or ``failed`` (with the error in ``decision.reason``)."""

    endpoint: str
    decision: Decision
    outcome: str


class RolloutController:
    """Drives experiments through ramps to a promotion or a rollback; see the module doc.

    Parameters
    ----------
    identity
        How this controller signs the audit log's details (default ``host:pid``).
    early_signal
        Consulted before a ramp or a promotion, which it may only hold (None: never).
    """

    def __init__(
        self,
        engine: sa.Engine,
        experiments: Experiments,
        rollout: Rollout,
        *,
        metrics: Metrics | None = None,
        actor: str = "controller",
        identity: str | None = None,
        early_signal: EarlySignal | None = None,
    ) -> None:
        self.early_signal = early_signal
        self.experiments = experiments
        self.rollout = rollout
        self.metrics = metrics
        self.actor = actor
        self.identity = identity or f"{socket.gethostname()}:{os.getpid()}"
        self.lock = LeaderLock(engine, LOCK_NAME)
        if metrics is not None:
            # Read at every scrape: the gauge drops to 0 the moment the lock's session ends
            # or the controller closes, not at the next tick.
            metrics.controller_leader.set_function(lambda: 1.0 if self.lock.still_held() else 0.0)

    @property
    def leader(self) -> bool:
        return self.lock.held

    def tick(self) -> list[ControllerLook]:
        """One look at every running experiment, if this controller is the leader."""
        leader = self.lock.acquire()
        if not leader:
            return []
        looks = []
        for experiment in self.experiments.running():
            try:
                looks.append(self._look(experiment.endpoint))
            except Conflict as exc:  # someone else changed it first: look again next time
                logger.info("Experiment on %r changed meanwhile: %s", experiment.endpoint, exc)
            except ChampionError as exc:
                logger.warning("Experiment on %r: %s", experiment.endpoint, exc.message)
                failed = Decision("continue", "none", exc.message)
                looks.append(ControllerLook(experiment.endpoint, failed, "failed"))
        return looks

    def _look(self, endpoint: str) -> ControllerLook:
        experiment = self.experiments.get(endpoint)
        report = self.experiments.report(experiment, full=False)
        decision = report.decision
        if self.early_signal is not None and report.arms is not None:
            objection = self.early_signal.objection(experiment, report.arms, decision)
            if objection is not None:
                decision = Decision("continue", "hold", objection, decision.arm, decision.share)
        self._count("decisions", endpoint, decision.decision)
        level = experiment.design.automation
        actor = self.actor
        if decision.action in ACTIONS and report.arms is not None:
            if level == "auto" or (level == "approve" and decision.action == "rollback"):
                self.rollout.act(experiment, decision, actor=actor, reason=self._signed(decision))
                self._count("actions", endpoint, decision.action)
                return ControllerLook(endpoint, decision, "acted")
            if level == "approve":
                if self.rollout.propose(experiment, decision, actor=actor):
                    self._count("actions", endpoint, "propose")
                return ControllerLook(endpoint, decision, "proposed")
        elif level == "approve" and experiment.pending:
            self.rollout.propose(experiment, None, actor=actor)
        self.experiments.note_decision(experiment, decision)
        return ControllerLook(endpoint, decision, "reported")

    def _signed(self, decision: Decision) -> str:
        return f"{decision.reason} [controller {self.identity}]"

    def _count(self, kind: str, endpoint: str, label: str) -> None:
        if self.metrics is None:
            return
        counter = (
            self.metrics.controller_decisions
            if kind == "decisions"
            else self.metrics.controller_actions
        )
        counter.labels(endpoint, label).inc()

    def close(self) -> None:
        """Give up leadership (another controller takes over at its next look)."""
        self.lock.release()
