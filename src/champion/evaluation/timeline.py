"""An experiment over time: its numbers as they stood at evenly spaced moments.

Point ``k`` of ``n`` is the experiment's analysis over ``[started_at, t_k)`` with
``t_k = started_at + k/n · (end - started_at)``, where ``end`` is when it finished, or now;
a point inside a folded segment moves back to that segment's start when it stays after the
point before (each point says its time), so points a segment or more apart read whole
segments and only the others read the partial segment they cut from raw rows (exact either
way; see ``events.aggregates``).
Each point runs the same tests on the same sums as the report (``analyse``), so the last
point is exactly what ``GET /v1/endpoints/{e}/experiment`` shows, and the goal's interval
over time shows how the evidence built up. The per-arm sums of every point come from one
pass over each ramp step's rollups (``events.arms.read_ahead``), not one per point. The
windows are cumulative because the unit, not the request, is the unit of analysis: a user
active in two buckets is one unit.
A fixed-horizon goal (:mod:`champion.evaluation.horizon`) is tested once: points before its
horizon show the estimate only (no interval, p-value or verdict: ``tested`` is false), and
points from the horizon on show the stored evaluation, never a new test.
Like the report, a point covers the ramp step in force at ``t_k`` (its ``step``): the
evidence starts again at each ramp, because steps are never pooled (see
:mod:`champion.evaluation.regimes`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from champion.db import read
from champion.errors import InvalidInput
from champion.evaluation.analysis import Analysis, analyse
from champion.evaluation.arms import ExperimentArms
from champion.evaluation.design import ExperimentDesign
from champion.evaluation.experiments import Experiment, Experiments
from champion.evaluation.horizon import FIXED_HORIZON, Horizon
from champion.evaluation.regimes import Regime, regime_window, window_regimes
from champion.evaluation.stattests import RatioSummary
from champion.events.arms import ArmWindow, read_ahead
from champion.events.cuts import snap_back

__all__ = ["MAX_POINTS", "ExperimentTimeline", "experiment_timeline", "looks", "mean_interval"]

MAX_POINTS = 48


_COUNTS = frozenset(
    {
        "units",
        "units_preferring_challenger",
        "units_preferring_champion",
        "units_tied",
        "wins",
        "losses",
        "ties",
    }
)
"""The interleaving counts a timeline point keeps (units and impressions)."""


def mean_interval(summary: RatioSummary, alpha: float) -> tuple[float, float] | None:
    """The normal ``1 - alpha`` interval of one arm's ratio metric, by the delta method.

    ``mean ± z · sqrt(variance / n)`` with the linearised per-unit variance of
    :class:`RatioSummary`; with every denominator 1 it is the z-interval of a mean
    (``scipy.stats.norm.interval(1 - alpha, mean, scipy.stats.sem(x))``). None below two
    units or without a denominator.

    Examples
    --------
    >>> low, high = mean_interval(RatioSummary.from_values([0, 1, 1, 0, 1], [1] * 5), 0.05)
    >>> round(low, 4), round(high, 4)
    (0.1199, 1.0801)
    """
    from scipy import stats

    variance = summary.variance
    if summary.n < 2 or not summary.sum_y or math.isnan(variance):
        return None
    half = float(stats.norm.ppf(1 - alpha / 2)) * math.sqrt(variance / summary.n)
    return summary.mean - half, summary.mean + half


@dataclass(frozen=True)
class ExperimentTimeline:
    """The experiment's analysis at each of ``ends`` (None: open-ended, as the report)."""

    experiment: Experiment
    ends: tuple[datetime, ...]
    analyses: tuple[Analysis, ...]

    def to_json(self) -> dict[str, Any]:
        design = self.experiment.design
        return {
            "endpoint": self.experiment.endpoint,
            "experiment": self.experiment.id,
            "status": self.experiment.status,
            "goal": design.goal,
            "method": design.method,
            "alpha": design.alpha,
            "started_at": self.experiment.started_at.isoformat(),
            "points": [
                _point(end, analysis, self._tested(end, analysis), design.goal, design.alpha)
                for end, analysis in zip(self.ends, self.analyses, strict=True)
            ],
        }

    def _tested(self, end: datetime, analysis: Analysis) -> Analysis | None:
        """``analysis`` as the report would show it at ``end``: for a fixed-horizon goal, the
        stored evaluation once it was made, and None (not tested) before."""
        design = self.experiment.design
        if design.method not in FIXED_HORIZON:
            return analysis
        stored = self.experiment.horizon
        horizon = None if stored is None else Horizon.from_json(stored)
        if horizon is None or not horizon.applies_to(design) or end < horizon.at:
            return None
        return horizon.applied(analysis)


def _point(
    end: datetime, analysis: Analysis, tested: Analysis | None, goal: str, alpha: float
) -> dict[str, Any]:
    arms = []
    for name, metrics in analysis.metrics.items():
        summary = metrics.metrics.get(goal)
        interval = None if summary is None else mean_interval(summary, alpha)
        arms.append(
            {
                "arm": name,
                "version": metrics.version,
                "units": metrics.units,
                "requests": int(metrics.totals.get("requests", 0)),
                "value": metrics.value(goal),
                "ci": None if interval is None else list(interval),
            }
        )
    comparison = analysis.interleaving
    return {
        "end": end.isoformat(),
        "step": None if analysis.regime is None else analysis.regime.index + 1,
        "arms": arms,
        "goal": _goal(analysis) if tested is None else _goal(tested, tested=True),
        "interleaving": None
        if comparison is None
        else {key: value for key, value in comparison.to_json().items() if key in _COUNTS},
    }


def _goal(analysis: Analysis, *, tested: bool = False) -> list[dict[str, Any]]:
    return [
        {
            "arm": r.arm,
            "control": r.control,
            "challenger": r.challenger,
            "effect": None if r.result is None else r.result.effect,
            "ci": None
            if not tested or r.result is None or r.result.ci is None
            else list(r.result.ci),
            "p_value": None if not tested or r.result is None else r.result.p_value,
            "relative": False if r.result is None else r.result.relative,
            "verdict": r.verdict if tested else "not tested",
            "tested": tested,
        }
        for r in analysis.results
        if r.role == "goal"
    ]


def looks(
    conn: sa.Connection,
    design: ExperimentDesign,
    arms: ExperimentArms,
    window: ArmWindow,
    ends: Sequence[datetime | None],
) -> list[Analysis]:
    """The analysis of ``window`` cut at each of ``ends`` (increasing; the last may be None),
    with every point's per-arm sums read in one pass over each ramp step's rollups."""
    regimes = window_regimes(conn, window, arms, design.ramp.steps)
    steps: list[Regime | None] = [*regimes] or [None]
    for regime in steps:
        read_ahead(conn, regime_window(window, regime), ends)
    return [analyse(conn, design, arms, replace(window, end=end), full=False) for end in ends]


def experiment_timeline(
    experiments: Experiments, experiment: Experiment, *, points: int = 12
) -> ExperimentTimeline:
    """``points`` cumulative looks at ``experiment``, oldest first (see the module docstring)."""
    if isinstance(points, bool) or not isinstance(points, int) or not 1 <= points <= MAX_POINTS:
        raise InvalidInput(
            "The 'points' parameter of experiment_timeline must be an int in the range "
            f"[1, {MAX_POINTS}]. Got {points!r} instead."
        )
    arms = experiments.arms(experiment)
    start = experiment.started_at
    finished = experiment.finished_at
    end = finished or experiments.clock.now()
    span = max(end - start, timedelta(0))
    ends = tuple(start + span * (k / points) for k in range(1, points + 1))
    window = ArmWindow(experiment.endpoint, arms.logged_arms, experiment.since_config, start)
    with read(experiments.engine) as conn:
        if span > timedelta(0):
            ends = (*snap_back(conn, experiment.endpoint, ends[:-1], start), ends[-1])
        # The last look of a running experiment is open-ended, as the report's is.
        last = points - 1
        bounds = [None if k == last and finished is None else at for k, at in enumerate(ends)]
        analyses = looks(conn, experiment.design, arms, window, bounds)
    return ExperimentTimeline(experiment, ends, tuple(analyses))
