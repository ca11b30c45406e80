"""One look at a running experiment: per-arm numbers, test results and health checks."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import sqlalchemy as sa

from champion.errors import InvalidInput
from champion.evaluation.arms import ExperimentArms
from champion.evaluation.comparisons import InterleavingComparison, interleaving_comparisons
from champion.evaluation.design import ExperimentDesign, Guardrail
from champion.evaluation.health import HealthCheck, coverage_check, srm_check
from champion.evaluation.online import METRICS, ArmMetrics, arm_metrics
from champion.evaluation.propensity import PropensityEstimate, propensity_estimates
from champion.evaluation.regimes import (
    Regime,
    StepNumbers,
    assignment_regimes,
    current_regime,
    regime_window,
    step_numbers,
)
from champion.evaluation.stattests import (
    BayesianTest,
    DeltaMethodTest,
    InterleavingTest,
    RatioSummary,
    SequentialTest,
    StatResult,
    StatTest,
    WelchTest,
    always_valid,
    benjamini_hochberg,
    holm,
)
from champion.events.arms import ArmWindow, arm_counts

__all__ = ["Analysis", "MetricResult", "analyse"]


@dataclass(frozen=True)
class MetricResult:
    """The goal or one guardrail of one challenger arm against the control.

    ``verdict`` is ``better``, ``worse`` or ``inconclusive`` for the goal, ``regressed`` or
    ``ok`` for a guardrail (worse than the champion by more than ``tolerance``, in the
    metric's units, at the corrected level), and ``no data`` when an arm has too few units.
    """

    metric: str
    role: str
    arm: str
    control: float | None
    challenger: float | None
    result: StatResult | None
    verdict: str
    tolerance: float | None = None
    p_adjusted: float | None = None

    def to_json(self) -> dict[str, Any]:
        result = self.result
        return {
            "metric": self.metric,
            "role": self.role,
            "arm": self.arm,
            "higher_is_better": METRICS[self.metric].higher_is_better,
            "control": self.control,
            "challenger": self.challenger,
            "effect": None if result is None else result.effect,
            "ci": None if result is None or result.ci is None else list(result.ci),
            "p_value": None if result is None else result.p_value,
            "p_adjusted": self.p_adjusted,
            "chance_to_win": None if result is None else result.chance_to_win,
            "relative": False if result is None else result.relative,
            "method": None if result is None else result.method,
            "tolerance": self.tolerance,
            "verdict": self.verdict,
        }


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


_TESTS: dict[str, StatTest] = {
    "delta": DeltaMethodTest(),
    "welch": WelchTest(),
    "bayesian": BayesianTest(metric="mean"),
}


def _usable(summary: RatioSummary | None) -> bool:
    return summary is not None and summary.n >= 2 and summary.sum_y > 0


def _run(
    method: str, a: RatioSummary, b: RatioSummary, design: ExperimentDesign
) -> StatResult | None:
    test = SequentialTest(design.sequential_tuning) if method == "sequential" else _TESTS[method]
    try:
        return test.run(a, b, alpha=design.alpha)
    except InvalidInput:  # e.g. a relative effect over a champion mean of 0
        return None


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
    are scored only when the design uses them (what the controller needs on each look).
    """
    window = replace(window, arms=arms.logged_arms)
    regimes = (
        []
        if window.since_config is None
        else assignment_regimes(
            conn, window.endpoint, window.since_config, window.start, design.ramp.steps
        )
    )
    regime = current_regime(regimes, window.end)
    steps = step_numbers(conn, arms, window, [r for r in regimes if r.index <= _index(regime)])
    window = regime_window(window, regime)
    versions = {arm: str(key) for arm, key in arms.versions.items()}
    if arms.policy == "interleave":
        versions = {"interleave": f"{versions['champion']} + {versions['challenger']}"}
    used = {design.goal, *(g.metric for g in design.guardrails_for(arms.policy))}
    sources = ("events", "labels", "ranking") if full else {METRICS[m].source for m in used}
    metrics = arm_metrics(conn, window, versions, ndcg_k=design.ndcg_k, sources=sources)
    step = steps[-1].counts if steps else arm_counts(conn, window)
    if arms.policy == "interleave":
        found = _interleaved(conn, design, arms, window, metrics, step)
        return replace(found, regime=regime, steps=steps)
    propensity = None
    if arms.policy == "bandit" and arms.reward is not None:
        propensity = propensity_estimates(conn, window, arms.reward, alpha=design.alpha)
    results: list[MetricResult] = []
    for arm in arms.challengers:
        results += _compare(design, arms, metrics[arms.control], metrics[arm])
    srm = steps[-1].srm if steps else srm_check(arms, step)
    health = [srm, coverage_check(design.goal, arms, metrics)]
    return Analysis(
        arms, metrics, results, health, step, propensity=propensity, regime=regime, steps=steps
    )


def _index(regime: Regime | None) -> int:
    return -1 if regime is None else regime.index


def _compare(
    design: ExperimentDesign, arms: ExperimentArms, control: ArmMetrics, other: ArmMetrics
) -> list[MetricResult]:
    goal = design.goal
    a, b = control.metrics.get(goal), other.metrics.get(goal)
    found = []
    if a is not None and b is not None and _usable(a) and _usable(b):
        result = _run(design.method, a, b, design)
        verdict = "inconclusive"
        if result is not None and result.significant:
            good = (result.effect > 0) == METRICS[goal].higher_is_better
            verdict = "better" if good else "worse"
        found.append(MetricResult(goal, "goal", other.arm, a.mean, b.mean, result, verdict))
    else:
        found.append(
            MetricResult(
                goal, "goal", other.arm, control.value(goal), other.value(goal), None, "no data"
            )
        )
    found += _guardrails(design, design.guardrails_for(arms.policy), control, other)
    return found


def _guardrails(
    design: ExperimentDesign,
    guardrails: tuple[Guardrail, ...],
    control: ArmMetrics,
    other: ArmMetrics,
) -> list[MetricResult]:
    """Each guardrail is tested against its margin: the challenger is shifted by the
    tolerance towards "better", so a significant difference that remains is a regression.
    The margin tests' p-values are corrected over the guardrails (Holm or BH)."""
    method = "sequential" if design.method == "sequential" else "delta"
    rows: list[tuple[str, float, float, float, StatResult, float]] = []
    empty: list[MetricResult] = []
    for guardrail in guardrails:
        name = guardrail.metric
        a, b = control.metrics.get(name), other.metrics.get(name)
        margin = plain = None
        enough = min(a.n, b.n) >= design.guardrail_min_units if a and b else False
        if a is not None and b is not None and enough and _usable(a) and _usable(b):
            tolerance = guardrail.tolerance * (abs(a.mean) if guardrail.relative else 1.0)
            higher_is_better = METRICS[name].higher_is_better
            towards_better = tolerance if higher_is_better else -tolerance
            margin = _run(method, a, b.shifted(towards_better), design)
            plain = _run(method, a, b, design)
        if a is None or b is None or margin is None or plain is None:
            empty.append(
                MetricResult(
                    name,
                    "guardrail",
                    other.arm,
                    control.value(name),
                    other.value(name),
                    None,
                    "no data",
                )
            )
            continue
        harmful = margin.effect != 0 and (margin.effect < 0) == higher_is_better
        rows.append((name, a.mean, b.mean, tolerance, plain, margin.p_value if harmful else 1.0))
    p_values = np.array([row[-1] for row in rows])
    if design.correction == "holm":
        adjusted = holm(p_values)
    elif design.correction == "bh":
        adjusted = benjamini_hochberg(p_values)
    else:
        adjusted = p_values
    found = [
        MetricResult(
            name,
            "guardrail",
            other.arm,
            mean_a,
            mean_b,
            plain,
            "regressed" if float(p) < design.alpha else "ok",
            tolerance,
            float(p),
        )
        for (name, mean_a, mean_b, tolerance, plain, _), p in zip(rows, adjusted, strict=True)
    ]
    return found + empty


def _interleaved(
    conn: sa.Connection,
    design: ExperimentDesign,
    arms: ExperimentArms,
    window: ArmWindow,
    metrics: dict[str, ArmMetrics],
    step: dict[str, tuple[int, int, int]],
) -> Analysis:
    champion, challenger = str(arms.versions["champion"]), str(arms.versions["challenger"])
    pairs = interleaving_comparisons(
        conn,
        window.endpoint,
        window.start,
        window.end,
        alpha=design.alpha,
        test=InterleavingTest(n_resamples=1000),
    )
    comparison = next(
        (c for c in pairs if (c.champion, c.challenger) == (champion, challenger)), None
    )
    result, verdict = None, "no data"
    if comparison is not None and comparison.units >= 2 and comparison.per_unit.sum_y > 0:
        if design.method == "interleaving":
            result = comparison.result
        else:
            summary = comparison.per_unit
            result = always_valid(
                summary.mean,
                summary.variance / summary.n,
                summary.n,
                alpha=design.alpha,
                tuning_n=design.sequential_tuning,
            )
        verdict = "inconclusive"
        if result.significant:
            verdict = "better" if result.effect > 0 else "worse"
    delta = None if comparison is None else comparison.result.effect
    goal = MetricResult("interleaving", "goal", "challenger", None, delta, result, verdict)
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
