"""Estimated performance as an early signal for the rollout controller: it can only wait.

Before the controller ramps a canary up or promotes a challenger (decisions reached on
measured evidence: the experiment's goal and guardrails), it compares the challenger's
estimated accuracy and ROC AUC (CBPE, ``drift.estimation``) on what it served since the
experiment started with the champion's over the same span. If the challenger's estimate
is worse by more than ``tolerance`` on either, the action waits (``hold``) with the numbers
in the reason; labels and the goal still decide once they arrive.

Why it can never be the evidence for a promotion: ``objection`` is consulted only for a
decision that already ramps or promotes, and it can only turn that into a hold. It is never
consulted for any other decision, so an excellent estimate cannot start a ramp, a promotion
or a rollback; a missing estimate (no labelled reference, not a binary classifier, nothing
served) objects to nothing.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from champion.clock import Clock
from champion.errors import InvalidInput, NotFound
from champion.evaluation.arms import ExperimentArms
from champion.evaluation.decision import Decision
from champion.evaluation.experiments import Experiment
from champion.registry import VersionKey

__all__ = ["EARLY_ACTIONS", "EarlySignal"]

EARLY_ACTIONS = ("ramp", "promote")
"""The only actions the early signal is consulted for (and may hold)."""


class EarlySignal:
    """Holds a ramp or promotion whose challenger is estimated worse; see the module doc.

    Parameters
    ----------
    engine, clock
        The database and the time.
    tolerance
        How much lower a challenger's estimated accuracy or AUC may be than the champion's.
    """

    def __init__(self, engine: sa.Engine, clock: Clock, tolerance: float = 0.05) -> None:
        self.engine = engine
        self.clock = clock
        self.tolerance = tolerance

    def _estimate(self, endpoint: str, experiment: Experiment, key: VersionKey) -> dict[str, float]:
        from champion.drift.estimation import estimated_performance

        # The end is exclusive: a second past now keeps what was served this very instant.
        start, end = experiment.started_at, self.clock.now() + timedelta(seconds=1)
        try:
            result = estimated_performance(
                self.engine, endpoint, start, end,
                bucket=end - start, version=key, draws=0, with_labels=False,
            )  # fmt: skip
        except (NotFound, InvalidInput):
            return {}
        metrics = result.overall.estimated.metrics
        return {name: value for name, value in metrics.items() if value is not None}

    def objection(
        self, experiment: Experiment, arms: ExperimentArms, decision: Decision
    ) -> str | None:
        """Why ``decision`` should wait, or None; only ramps and promotions are judged."""
        if decision.action not in EARLY_ACTIONS:
            return None
        endpoint = experiment.endpoint
        champion: dict[str, float] | None = None
        arms_judged = [decision.arm] if decision.arm else list(arms.challengers)
        for arm in arms_judged:
            key = arms.versions[arm]
            # The challenger first: without a labelled reference it answers at once, and the
            # champion's predictions are never read.
            challenger = self._estimate(endpoint, experiment, key)
            if challenger and champion is None:
                champion = self._estimate(endpoint, experiment, arms.versions[arms.control])
            for name, value in sorted(challenger.items()):
                control = (champion or {}).get(name)
                if control is not None and value < control - self.tolerance:
                    return (
                        f"Held by the early signal: {key}'s estimated {name} before labels "
                        f"(CBPE) is {value:.3f}, below the champion's {control:.3f} by more "
                        f"than {self.tolerance:g}. The {decision.action} waits; labels and "
                        "the goal decide."
                    )
        return None
