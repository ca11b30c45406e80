"""One look at a running experiment: per-arm numbers, test results and health checks."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa

from champion.evaluation.adjustment import goal_covariates
from champion.evaluation.arms import ExperimentArms
from champion.evaluation.comparisons import InterleavingComparison, interleaving_comparisons
from champion.evaluation.design import ExperimentDesign
from champion.evaluation.health import HealthCheck, coverage_check, srm_check
from champion.evaluation.online import METRICS, ArmMetrics, arm_metrics
from champion.evaluation.propensity import PropensityEstimate, propensity_estimates
from champion.evaluation.regimes import (
    Regime,
    StepNumbers,
    current_regime,
    regime_window,
    step_numbers,
    window_regimes,
)
from champion.evaluation.verdicts import MetricResult, compare
from champion.events.arms import ArmWindow, arm_counts

__all__ = ["Analysis", "MetricResult", "analyse"]


@dataclass(frozen=True)
class Analysis:
    """One look at an experiment. ``metrics``, ``results``, ``health`` and ``step`` cover the
    assignment regime ``regime`` (the current ramp step) only; ``steps`` lists every step so
    far with its units per arm and sample-ratio check (see :mod:`.regimes`)."""

    arms: ExperimentArms
    metrics: dict[str, ArmMetrics]
    results: list[MetricResult]
    health: list[HealthCheck]
    step: dict[str, tuple[int, int, int]]
    """Per arm, in the current ramp step: (units, requests, failed requests)."""
    interleaving: InterleavingComparison | None = None
    propensity: dict[str, PropensityEstimate] | None = None
    regime: Regime | None = None
    """The ramp step the numbers cover; None when the window names no configuration."""
    steps: tuple[StepNumbers, ...] = ()

    def goal(self, arm: str) -> MetricResult | None:
        return next((r for r in self.results if r.role == "goal" and r.arm == arm), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "arms": [self.metrics[arm].to_json() for arm in self.metrics],
            "results": [r.to_json() for r in self.results],
            "health": [h.to_json() for h in self.health],
            "interleaving": None if self.interleaving is None else self.interleaving.to_json(),
            "propensity": None
            if self.propensity is None
            else [e.to_json() for e in self.propensity.values()],
            "regime": None if self.regime is None else self.regime.to_json(),
            "steps": [s.to_json() for s in self.steps],
        }


def analyse(
    conn: sa.Connection,
    design: ExperimentDesign,
    arms: ExperimentArms,
    window: ArmWindow,
    *,
    full: bool = True,
) -> Analysis:
    """Compute every number of one experiment ``window`` (``window.arms`` is ignored).

    The window's configurations from ``window.since_config`` on are split into assignment
    regimes (ramp steps); the metrics, tests and health checks cover the regime in force at
    ``window.end`` (the current one when open-ended), and every regime so far is listed
    with its own counts and sample-ratio check. With ``full`` off, label and ranking metrics
    are scored only when the design uses them, and latency and delay percentiles not at all
    (what the controller needs on each look, and a timeline's points).
    """
    window = replace(window, arms=arms.logged_arms)
    regimes = window_regimes(conn, window, arms, design.ramp.steps)
    regime = current_regime(regimes, window.end)
    steps = step_numbers(conn, arms, window, [r for r in regimes if r.index <= _index(regime)])
    window = regime_window(window, regime)
    versions = {arm: str(key) for arm, key in arms.versions.items()}
    if arms.policy == "interleave":
        versions = {"interleave": f"{versions['champion']} + {versions['challenger']}"}
    used = {design.goal, *(g.metric for g in design.guardrails_for(arms.policy))}
    sources = ("events", "labels", "ranking") if full else {METRICS[m].source for m in used}
    metrics = arm_metrics(
        conn, window, versions, ndcg_k=design.ndcg_k, sources=sources, percentiles=full
    )
    step = steps[-1].counts if steps else arm_counts(conn, window)
    if arms.policy == "interleave":
        found = _interleaved(conn, design, arms, window, metrics, step)
        return replace(found, regime=regime, steps=steps)
    propensity = None
    if arms.policy == "bandit" and arms.reward is not None:
        propensity = propensity_estimates(conn, window, arms.reward, alpha=design.alpha)
    results = compare(design, arms, metrics, goal_covariates(conn, design, window))
    srm = steps[-1].srm if steps else srm_check(arms, step)
    health = [srm, coverage_check(design.goal, arms, metrics)]
    return Analysis(
        arms, metrics, results, health, step, propensity=propensity, regime=regime, steps=steps
    )


def _index(regime: Regime | None) -> int:
    return -1 if regime is None else regime.index


def _interleaved(
    conn: sa.Connection,
    design: ExperimentDesign,
    arms: ExperimentArms,
    window: ArmWindow,
    metrics: dict[str, ArmMetrics],
    step: dict[str, tuple[int, int, int]],
) -> Analysis:
    champion, challenger = str(arms.versions["champion"]), str(arms.versions["challenger"])
    pairs = interleaving_comparisons(conn, window.endpoint, window.start, window.end, design=design)
    comparison = next(
        (c for c in pairs if (c.champion, c.challenger) == (champion, challenger)), None
    )
    result, verdict, preference = None, "no data", None
    if comparison is not None:
        preference = comparison.preference
        if comparison.verdict != "no data":
            result, verdict = comparison.result, comparison.verdict
    goal = MetricResult("interleaving", "goal", "challenger", None, preference, result, verdict)
    units = 0 if comparison is None else comparison.units
    health = [
        HealthCheck("srm", "ok", "not applicable: both versions answer every request"),
        HealthCheck(
            "coverage",
            "ok" if units else "no data",
            f"{units} units made interleaved impressions",
            {"units": units},
        ),
    ]
    return Analysis(arms, metrics, [goal], health, step, interleaving=comparison)
