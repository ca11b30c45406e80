"""The one evaluation of a fixed-horizon goal, kept with the experiment.

A fixed-horizon test (``delta``, ``welch``, ``bayesian``, ``interleaving``) is valid for one
look only: testing it again at every later look would find a "significant" difference by
chance far more often than ``alpha``. So the goal is tested once, at the first look
``horizon_wait_seconds`` after every arm had ``min_sample`` units (the wait lets the feedback
of those units arrive; it depends on no outcome, so the test stays valid); the results are
stored and every later look (the controller's, a person's report) shows them with when they
were decided, instead of testing again. Guardrails are not part of it: they use the
always-valid test and stay watched.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from champion.evaluation.analysis import Analysis
from champion.evaluation.design import ExperimentDesign
from champion.evaluation.stattests import StatResult
from champion.evaluation.verdicts import MetricResult

__all__ = ["FIXED_HORIZON", "Horizon", "fix_horizon", "horizon_reached", "short_of_sample"]

FIXED_HORIZON = frozenset({"delta", "welch", "bayesian", "interleaving"})
"""Methods valid for one look only: they decide once, when ``min_sample`` is reached."""


@dataclass(frozen=True)
class Horizon:
    """The goal's results at the planned horizon: when, at how many units per arm, and what.

    ``goal`` and ``method`` are the design's when it was decided; a design that changes
    either needs a new evaluation.
    """

    at: datetime
    units: dict[str, int]
    goal: str
    method: str
    results: tuple[MetricResult, ...]

    def applies_to(self, design: ExperimentDesign) -> bool:
        return design.method == self.method and design.goal == self.goal

    def applied(self, analysis: Analysis) -> Analysis:
        """``analysis`` with its goal results replaced by the stored ones."""
        others = [r for r in analysis.results if r.role != "goal"]
        return replace(analysis, results=[*self.results, *others])

    def describe(self) -> str:
        """``decided at 104 champion and 101 challenger units on 2026-03-01 10:00 UTC``."""
        units = " and ".join(f"{n} {arm}" for arm, n in self.units.items())
        return f"decided at {units} units on {self.at:%Y-%m-%d %H:%M} UTC"

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "units": self.units,
            "goal": self.goal,
            "method": self.method,
            "results": [_result_json(r) for r in self.results],
        }

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Horizon:
        return cls(
            datetime.fromisoformat(body["at"]),
            {arm: int(n) for arm, n in body["units"].items()},
            body["goal"],
            body["method"],
            tuple(_result(r) for r in body["results"]),
        )


# JSON (and PostgreSQL's JSONB) has no infinity: a zero-variance test's statistic is one.
def _storable(value: float | None) -> float | str | None:
    return value if value is None or math.isfinite(value) else str(value)


def _result_json(result: MetricResult) -> dict[str, Any]:
    body = asdict(result)
    stat = body["result"]
    if stat is not None:
        for name in ("statistic", "p_value", "effect", "df", "chance_to_win"):
            stat[name] = _storable(stat[name])
        stat["ci"] = None if stat["ci"] is None else [_storable(x) for x in stat["ci"]]
    return body


def _result(body: dict[str, Any]) -> MetricResult:
    stat = body.get("result")
    values = dict(body)
    if stat is not None:
        numbers = {
            k: None if v is None else float(v)
            for k, v in stat.items()
            if k in ("statistic", "p_value", "effect", "df", "chance_to_win")
        }
        ci = None if stat["ci"] is None else (float(stat["ci"][0]), float(stat["ci"][1]))
        values["result"] = StatResult(**{**stat, **numbers, "ci": ci})
    return MetricResult(**values)


def short_of_sample(design: ExperimentDesign, analysis: Analysis) -> str:
    """Empty when every compared arm has ``min_sample`` units, else what is missing."""
    if analysis.arms.policy == "interleave":
        units = 0 if analysis.interleaving is None else analysis.interleaving.units
        counts = {"interleaved": units}
    else:
        counts = {arm: analysis.metrics[arm].units for arm in analysis.arms.logged_arms}
    missing = {arm: n for arm, n in counts.items() if n < design.min_sample}
    if not missing:
        return ""
    listed = ", ".join(f"{n} {arm}" for arm, n in missing.items())
    return f"{listed} units of the {design.min_sample} per arm needed for a verdict"


def horizon_reached(design: ExperimentDesign, analysis: Analysis) -> bool:
    """True when ``design`` tests its goal once and this look has the planned units."""
    return design.method in FIXED_HORIZON and not short_of_sample(design, analysis)


def fix_horizon(design: ExperimentDesign, analysis: Analysis, now: datetime) -> Horizon:
    """The goal results of ``analysis``, to be kept as the experiment's one evaluation."""
    if analysis.arms.policy == "interleave":
        units = {"interleaved": 0 if analysis.interleaving is None else analysis.interleaving.units}
    else:
        units = {arm: analysis.metrics[arm].units for arm in analysis.arms.logged_arms}
    goals = tuple(r for r in analysis.results if r.role == "goal")
    return Horizon(now, units, design.goal, design.method, goals)
