"""The verdicts of one look: the goal per challenger arm and every guardrail, corrected.

The goal is tested with the design's ``method`` and its p-values are corrected over the
challenger arms (``correction``, Holm by default), so adding arms does not add chances to
promote one by luck.

Each guardrail runs two one-sided tests, always with the sequential test (the controller
watches guardrails at every look, whatever the goal's method), both at the same point: the
challenger's harm equal to the tolerance.

* **harm** (superiority of the harm): significantly worse than the champion by more than
  the tolerance. It rolls back at once, so its p-values are corrected over guardrails and
  arms: any of them alone would roll back.
* **non-inferiority**: significantly less harm than the tolerance, which is the harmful end
  of the always-valid interval lying within the tolerance. A ramp or a promotion needs it
  for every guardrail, so it needs no correction (an intersection-union test); a thin
  guardrail is ``inconclusive`` and holds the rollout rather than waving it through.

This is the decision rule of Schultzberg, Ankargren and Frånberg (2024): success metrics by
superiority, guardrails by non-inferiority.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from champion.errors import InvalidInput
from champion.evaluation.arms import ExperimentArms
from champion.evaluation.design import ExperimentDesign, Guardrail
from champion.evaluation.online import METRICS, ArmMetrics
from champion.evaluation.stattests import (
    BayesianTest,
    CovariateSums,
    DeltaMethodTest,
    RatioSummary,
    SequentialTest,
    StatResult,
    StatTest,
    WelchTest,
    always_valid,
    benjamini_hochberg,
    cuped_arms,
    holm,
)
from champion.evaluation.stattests.welch import compare_means

__all__ = ["MetricResult", "compare"]


@dataclass(frozen=True)
class MetricResult:
    """The goal or one guardrail of one challenger arm against the control.

    ``verdict`` is ``better``, ``worse`` or ``inconclusive`` for the goal (at the corrected
    level: ``p_adjusted`` over the challenger arms). For a guardrail it is ``regressed``
    (worse than the champion by significantly more than ``tolerance``, in the metric's units:
    ``p_adjusted`` is that harm test's p-value, corrected over guardrails and arms), ``ok``
    (shown to be within the tolerance: ``p_non_inferior``) or ``inconclusive`` (neither, yet).
    ``no data`` when an arm has too few units. ``relative`` is the tolerance as a share of
    the champion's value when it was given that way.
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
    p_non_inferior: float | None = None
    relative: float | None = None

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
            "p_non_inferior": self.p_non_inferior,
            "chance_to_win": None if result is None else result.chance_to_win,
            "relative": False if result is None else result.relative,
            "method": None if result is None else result.method,
            "tolerance": self.tolerance,
            "relative_tolerance": self.relative,
            "verdict": self.verdict,
        }


_TESTS: dict[str, StatTest] = {
    "delta": DeltaMethodTest(),
    "welch": WelchTest(),
    "bayesian": BayesianTest(metric="mean"),
}


def _usable(summary: RatioSummary | None) -> bool:
    return summary is not None and summary.n >= 2 and summary.sum_y > 0


def _run(test: StatTest, a: RatioSummary, b: RatioSummary, alpha: float) -> StatResult | None:
    try:
        return test.run(a, b, alpha=alpha)
    except InvalidInput:  # e.g. a relative effect over a champion mean of 0
        return None


def compare(
    design: ExperimentDesign,
    arms: ExperimentArms,
    metrics: Mapping[str, ArmMetrics],
    covariates: Mapping[str, CovariateSums] | None = None,
) -> list[MetricResult]:
    """The goal and the guardrails of every challenger arm against the control, at the
    corrected levels described in the module docstring; with ``covariates`` (the goal's
    pre-period sums per arm, ``design.cuped``) the goal is tested after CUPED."""
    control = metrics[arms.control]
    guardrails = design.guardrails_for(arms.policy)
    found: list[MetricResult] = []
    for arm in arms.challengers:
        if covariates is not None:
            found.append(_adjusted_goal(design, control, metrics[arm], covariates))
            continue
        found.append(_goal(design, control, metrics[arm]))
        found += [_guardrail(design, g, control, metrics[arm]) for g in guardrails]
    return _corrected(design, found)


def _goal(design: ExperimentDesign, control: ArmMetrics, other: ArmMetrics) -> MetricResult:
    goal = design.goal
    a, b = control.metrics.get(goal), other.metrics.get(goal)
    if a is None or b is None or not _usable(a) or not _usable(b):
        return MetricResult(
            goal, "goal", other.arm, control.value(goal), other.value(goal), None, "no data"
        )
    test = (
        SequentialTest(design.sequential_tuning)
        if design.method == "sequential"
        else _TESTS[design.method]
    )
    result = _run(test, a, b, design.goal_alpha)
    return MetricResult(goal, "goal", other.arm, a.mean, b.mean, result, "inconclusive")


def _adjusted_goal(
    design: ExperimentDesign,
    control: ArmMetrics,
    other: ArmMetrics,
    covariates: Mapping[str, CovariateSums],
) -> MetricResult:
    plain = _goal(design, control, other)
    sums_a, sums_b = covariates.get(control.arm), covariates.get(other.arm)
    if plain.result is None or sums_a is None or sums_b is None:
        return plain
    try:
        a, b, _ = cuped_arms(sums_a, sums_b)
    except InvalidInput:  # too few units to estimate the adjustment
        return plain
    if design.method == "sequential":
        effect, variance = b.mean - a.mean, a.variance / a.n + b.variance / b.n
        result = always_valid(
            effect, variance, a.n + b.n, alpha=design.alpha, tuning_n=design.sequential_tuning
        )
    else:
        result = compare_means(
            (a.mean, a.variance, a.n),
            (b.mean, b.variance, b.n),
            relative=False,
            alpha=design.alpha,
            distribution="normal",
            method=design.method,
        )
    return replace(plain, result=replace(result, method=f"{result.method}+cuped"))


def _guardrail(
    design: ExperimentDesign, guardrail: Guardrail, control: ArmMetrics, other: ArmMetrics
) -> MetricResult:
    name = guardrail.metric
    a, b = control.metrics.get(name), other.metrics.get(name)
    relative = guardrail.tolerance if guardrail.relative else None
    if (
        a is None
        or b is None
        or not _usable(a)
        or not _usable(b)
        or min(a.n, b.n) < design.guardrail_min_units
    ):
        return MetricResult(
            name,
            "guardrail",
            other.arm,
            control.value(name),
            other.value(name),
            None,
            "no data",
            None if guardrail.relative else guardrail.tolerance,
            relative=relative,
        )
    # The tolerance of a relative guardrail is taken at the champion's current value.
    tolerance = guardrail.tolerance * (abs(a.mean) if guardrail.relative else 1.0)
    harm = -1.0 if METRICS[name].higher_is_better else 1.0
    test = SequentialTest(design.sequential_tuning)
    plain = test.run(a, b, alpha=design.alpha)
    # Shifting the challenger by the tolerance towards "better" puts both one-sided nulls
    # (harm <= tolerance, harm >= tolerance) at 0: one always-valid p-value serves both,
    # read on the side where the estimate lies.
    at_margin = test.run(a, b.shifted(-harm * tolerance), alpha=design.alpha)
    beyond = harm * at_margin.effect > 0
    return MetricResult(
        name,
        "guardrail",
        other.arm,
        a.mean,
        b.mean,
        plain,
        "inconclusive",
        tolerance,
        p_adjusted=at_margin.p_value if beyond else 1.0,
        p_non_inferior=1.0 if beyond else at_margin.p_value,
        relative=relative,
    )


def _adjust(design: ExperimentDesign, p_values: list[float]) -> list[float]:
    if len(p_values) < 2:  # nothing to correct for
        return p_values
    array = np.asarray(p_values, dtype=np.float64)
    if design.correction == "holm":
        array = holm(array)
    elif design.correction == "bh":
        array = benjamini_hochberg(array)
    return [float(p) for p in array]


def _corrected(design: ExperimentDesign, results: list[MetricResult]) -> list[MetricResult]:
    """Verdicts at the corrected levels: the goal's p-values over the challenger arms, the
    guardrails' harm p-values over guardrails and arms (``design.correction``)."""
    found = list(results)
    goals = [(i, r.result) for i, r in enumerate(results) if r.role == "goal" and r.result]
    p_goals = _adjust(design, [result.p_value for _, result in goals])
    for (i, result), p in zip(goals, p_goals, strict=True):
        verdict = "inconclusive"
        if p < design.goal_alpha:
            good = (result.effect > 0) == METRICS[design.goal].higher_is_better
            verdict = "better" if good else "worse"
        found[i] = replace(results[i], p_adjusted=p, verdict=verdict)
    harms = [
        (i, r.p_adjusted, r.p_non_inferior)
        for i, r in enumerate(results)
        if r.role == "guardrail" and r.p_adjusted is not None and r.p_non_inferior is not None
    ]
    p_harms = _adjust(design, [p for _, p, _ in harms])
    for (i, _, p_within), p in zip(harms, p_harms, strict=True):
        verdict = (
            "regressed"
            if p < design.alpha
            else "ok"
            if p_within < design.alpha
            else ("inconclusive")
        )
        found[i] = replace(results[i], p_adjusted=p, verdict=verdict)
    return found
