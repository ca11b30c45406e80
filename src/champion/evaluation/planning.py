"""How many units (and days) an experiment needs, planned from the endpoint's own history.

The goal is planned for its test (``method``) at level ``alpha`` split over the challenger
arms (Bonferroni, which Holm never needs more than) and at the design's ``power``. Each
guardrail is planned for its non-inferiority test with the always-valid interval, at the
guardrail's tolerance with no true harm, at power ``1 - beta / G`` for ``G`` guardrails:
a promotion needs every guardrail shown within its tolerance, so the chance that one of
them holds a good challenger back is split between them (Schultzberg, Ankargren and
Frånberg 2024). The experiment needs the largest of these samples.

For a fixed-horizon test the units per arm are the normal-approximation sample
``2 (z_{1-alpha/2} + z_{power})² sigma² / mde²``, as statsmodels' ``NormalIndPower``; for
the sequential test they are the smallest sample at which the always-valid interval
excludes 0 with probability ``power`` when the effect is ``mde``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from scipy import optimize, stats

from champion.db import read
from champion.errors import InvalidInput, NotFound
from champion.evaluation.arms import endpoint_arms
from champion.evaluation.comparisons import interleaving_comparisons
from champion.evaluation.design import ExperimentDesign, parse_design
from champion.evaluation.experiments import Experiments
from champion.evaluation.online import METRICS
from champion.evaluation.stattests import RatioSummary, always_valid, unit_preferences
from champion.events import aggregates
from champion.events.arms import RATIOS, ArmWindow, arm_sums
from champion.events.cuts import exact
from champion.registry import VersionKey

__all__ = [
    "ExperimentPlan",
    "plan",
    "plan_experiment",
    "sample_size",
    "sequential_sample_size",
]

_MAX_UNITS = 10**9


def sample_size(effect: float, sd: float, *, alpha: float, power: float) -> float:
    """Units per arm for a two-sided two-sample z-test to detect ``effect`` with ``power``,
    counting both rejection tails as statsmodels' ``NormalIndPower().solve_power`` does.

    Examples
    --------
    >>> round(sample_size(0.1, 1.0, alpha=0.05, power=0.8), 4)  # NormalIndPower: 1569.7721
    1569.7721
    """
    crit = float(stats.norm.ppf(1 - alpha / 2))
    d = abs(effect) / sd

    def short_of_power(n: float) -> float:
        shift = d / math.sqrt(2 / n)
        return float(stats.norm.cdf(shift - crit) + stats.norm.cdf(-shift - crit)) - power

    one_tail = 2 * ((crit + float(stats.norm.ppf(power))) / d) ** 2
    return float(optimize.brentq(short_of_power, 1e-9, one_tail, xtol=1e-10))


def _smallest(enough: Callable[[int], bool]) -> int | None:
    """The smallest n in [2, _MAX_UNITS] with ``enough(n)`` (monotone), or None."""
    if not enough(_MAX_UNITS):
        return None
    low, high = 2, _MAX_UNITS
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if enough(middle) else (middle + 1, high)
    return low


def _half_width(sd: float, n: int, *, alpha: float, tuning: float) -> tuple[float, float]:
    se2 = 2 * sd**2 / n
    ci = always_valid(0.0, se2, 2 * n, alpha=alpha, tuning_n=tuning).ci
    assert ci is not None  # always_valid always gives one
    return ci[1], math.sqrt(se2)


def sequential_sample_size(
    effect: float, sd: float, *, alpha: float, power: float, tuning: float
) -> int | None:
    """Units per arm at which the always-valid interval excludes 0 with ``power`` when the
    true difference is ``effect`` (None beyond a billion)."""
    z = float(stats.norm.ppf(power))

    def enough(n: int) -> bool:
        half, se = _half_width(sd, n, alpha=alpha, tuning=tuning)
        return abs(effect) - half >= z * se

    return _smallest(enough)


def _non_inferiority_size(
    tolerance: float, sd: float, *, alpha: float, power: float, tuning: float
) -> int | None:
    z = float(stats.norm.ppf(power))

    def enough(n: int) -> bool:
        half, se = _half_width(sd, n, alpha=alpha, tuning=tuning)
        return half + z * se <= tolerance

    return _smallest(enough)


@dataclass(frozen=True)
class ExperimentPlan:
    """Units per arm (and days at the endpoint's traffic) for the goal and each guardrail."""

    endpoint: str
    goal: str
    method: str
    mde: float
    baseline: float | None
    sd: float | None
    challengers: int
    units_per_arm: int | None
    days: float | None
    history_days: float
    history_units: int
    units_per_day: float
    goal_units_per_arm: int | None
    fixed_horizon_units_per_arm: int | None
    guardrails: list[dict[str, Any]]
    interleaving: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "goal": self.goal,
            "method": self.method,
            "mde": self.mde,
            "baseline": self.baseline,
            "sd": self.sd,
            "challengers": self.challengers,
            "units_per_arm": self.units_per_arm,
            "total_units": None
            if self.units_per_arm is None
            else self.units_per_arm * (self.challengers + 1),
            "days": self.days,
            "goal_units_per_arm": self.goal_units_per_arm,
            "fixed_horizon_units_per_arm": self.fixed_horizon_units_per_arm,
            "guardrails": self.guardrails,
            "history": {
                "days": self.history_days,
                "units": self.history_units,
                "units_per_day": self.units_per_day,
            },
            "interleaving": self.interleaving,
            "notes": self.notes,
        }


def _history(
    conn: sa.Connection, endpoint: str, start: datetime, end: datetime
) -> tuple[dict[str, RatioSummary], int, float]:
    """The endpoint's metrics over every unit it served in ``[start, end)`` (sums over
    disjoint arms add up), its units, and the days it actually covers."""
    scope = exact(conn, aggregates.Scope(endpoint, start=start, end=end))
    served = aggregates.totals(conn, scope, ("arm",), ("requests",))
    arms = sorted(str(arm) for (arm,), (requests,) in served.items() if requests > 0)
    first = aggregates.first_time(conn, scope)
    if not arms or first is None:
        return {}, 0, 0.0
    sums = arm_sums(conn, ArmWindow(endpoint, arms, None, start, end))
    pooled: dict[str, RatioSummary] = {}
    for metric in RATIOS:
        parts = [arm.sums[metric] for arm in sums.values()]
        totals = [sum(part[i] for part in parts) for i in range(6)]
        pooled[metric] = RatioSummary(int(totals[0]), *(float(t) for t in totals[1:]))
    units = sum(arm.units for arm in sums.values())
    if first.tzinfo is None:
        first = first.replace(tzinfo=end.tzinfo)
    covered = max((end - max(first, start)).total_seconds() / 86400, 1 / 24)
    return pooled, units, covered


def _sd(summary: RatioSummary | None) -> float | None:
    if summary is None or summary.n < 2 or summary.sum_y <= 0:
        return None
    return math.sqrt(summary.variance)


def plan_experiment(
    conn: sa.Connection,
    endpoint: str,
    design: ExperimentDesign,
    *,
    mde: float,
    relative: bool,
    challengers: int,
    now: datetime,
    history_days: float = 14.0,
    preference: float = 0.05,
) -> ExperimentPlan:
    """Plan ``design`` on ``endpoint`` from the ``history_days`` before ``now``.

    ``mde`` is the smallest goal change worth finding (a share of the baseline with
    ``relative``); ``preference`` the interleaving Δ_AB to find (0.05: the challenger wins
    55 % of the decisive impressions), planned when interleaving ran on the endpoint.
    """
    if not mde > 0 or not math.isfinite(mde):
        raise InvalidInput(f"The 'mde' parameter must be a positive number. Got {mde!r} instead.")
    if challengers < 1:
        raise InvalidInput(
            f"The 'challengers' parameter must be at least 1. Got {challengers!r} instead."
        )
    start = now - timedelta(days=history_days)
    history, units, covered = _history(conn, endpoint, start, now)
    per_day = units / covered if covered else 0.0
    notes: list[str] = []
    alpha = design.alpha / challengers
    beta = 1 - design.power
    goal_units = fixed_units = None
    baseline = sd = None
    effect = mde
    if design.goal == "interleaving":
        notes.append("The goal is interleaving: every unit sees both rankers.")
    elif METRICS[design.goal].source != "events":
        raise InvalidInput(
            f"The 'goal' parameter must be an event metric to plan from the event log "
            f"({', '.join(RATIOS)}). Got {design.goal!r} instead."
        )
    else:
        summary = history.get(design.goal)
        sd = _sd(summary)
        if summary is None or sd is None:
            raise InvalidInput(
                f"Endpoint {endpoint!r} has no {design.goal} history in the last "
                f"{history_days:g} days to plan from; serve it for a while first."
            )
        baseline = summary.mean
        effect = mde * abs(baseline) if relative else mde
        if effect == 0:
            raise InvalidInput(
                f"A relative 'mde' needs a non-zero baseline; {design.goal} is 0 on "
                f"{endpoint!r}. Give an absolute mde instead."
            )
        fixed = sample_size(effect, sd, alpha=alpha, power=design.power) if sd else 2.0
        fixed_units = max(2, math.ceil(fixed))
        goal_units = (
            sequential_sample_size(
                effect, sd, alpha=alpha, power=design.power, tuning=design.sequential_tuning
            )
            if design.method == "sequential" and sd
            else fixed_units
        )
    interleaving = _interleaving_plan(
        conn,
        endpoint,
        start,
        now,
        design,
        mde if design.goal == "interleaving" else preference,
        per_day,
    )
    if design.goal == "interleaving":
        goal_units = None if interleaving is None else interleaving["units"]
    guardrails = _guardrail_plans(design, history, beta)
    needed = [goal_units, *(g["units_per_arm"] for g in guardrails)]
    units_per_arm = None if any(n is None for n in needed) else max(n for n in needed if n)
    if units_per_arm is not None and design.min_sample > units_per_arm:
        units_per_arm = design.min_sample
    days = (
        None
        if units_per_arm is None or per_day == 0
        else units_per_arm * (challengers + 1) / per_day
    )
    if design.method == "sequential":
        notes.append(
            f"The sequential test's interval is narrowest near sequential_tuning "
            f"({design.sequential_tuning:g} units in all); set it near the planned total."
        )
    return ExperimentPlan(
        endpoint=endpoint,
        goal=design.goal,
        method=design.method,
        mde=effect,
        baseline=baseline,
        sd=sd,
        challengers=challengers,
        units_per_arm=units_per_arm,
        days=days,
        history_days=history_days,
        history_units=units,
        units_per_day=per_day,
        goal_units_per_arm=goal_units,
        fixed_horizon_units_per_arm=fixed_units,
        guardrails=guardrails,
        interleaving=interleaving,
        notes=notes,
    )


def _guardrail_plans(
    design: ExperimentDesign, history: dict[str, RatioSummary], beta: float
) -> list[dict[str, Any]]:
    chosen = design.guardrails_for("ab" if design.goal != "interleaving" else "interleave")
    power = 1 - beta / max(len(chosen), 1)
    found = []
    for guardrail in chosen:
        summary = history.get(guardrail.metric)
        sd = _sd(summary)
        tolerance = guardrail.tolerance
        if guardrail.relative and summary is not None and sd is not None:
            tolerance *= abs(summary.mean)
        if sd is None or tolerance <= 0:
            units = None
        elif sd == 0:
            units = 2
        else:
            units = _non_inferiority_size(
                tolerance, sd, alpha=design.alpha, power=power, tuning=design.sequential_tuning
            )
        found.append(
            {
                "metric": guardrail.metric,
                "tolerance": tolerance,
                "power": power,
                "sd": sd,
                "units_per_arm": units,
            }
        )
    return found


def _interleaving_plan(
    conn: sa.Connection,
    endpoint: str,
    start: datetime,
    end: datetime,
    design: ExperimentDesign,
    preference: float,
    per_day: float,
) -> dict[str, Any] | None:
    scope = exact(conn, aggregates.Scope(endpoint, start=start))
    served = aggregates.totals(conn, scope, ("endpoint",), ("rank_requests",))
    if not any(ranked > 0 for (ranked,) in served.values()):
        return None  # not a ranker
    delta = design.goal == "interleaving"
    pairs = interleaving_comparisons(conn, endpoint, start, end, design=design)
    spreads = [unit_preferences(c.unit_wins, c.unit_losses) for c in pairs]
    usable = [found for found in spreads if found.size >= 2]
    if not usable:
        return {
            "preference": preference,
            "units": None,
            "days": None,
            "note": "No interleaving ran on this endpoint in the history window, so there is "
            "no per-unit preference variance to plan from.",
        }
    # The spread of the per-unit preference, from the pair with the most units.
    sd = float(max(usable, key=len).std(ddof=1))
    target = preference
    z = stats.norm.ppf(1 - design.alpha / 2) + stats.norm.ppf(design.power)
    units = max(2, math.ceil((z * sd / target) ** 2)) if sd > 0 else 2
    return {
        "preference": target,
        "sd": sd,
        "units": units,
        "days": None if per_day == 0 else units / per_day,
        "note": "Every unit sees both rankers."
        + ("" if delta else " Interleaving finds which ranker users prefer, not the goal."),
    }


def plan(
    experiments: Experiments,
    endpoint: str,
    *,
    goal: str,
    mde: float,
    relative: bool = False,
    method: str | None = None,
    history_days: float = 14.0,
    preference: float = 0.05,
) -> ExperimentPlan:
    """Plan an experiment on ``endpoint``: the running experiment's design (or the
    defaults) with ``goal`` (and ``method``), its challengers from the endpoint's policy."""
    config = experiments.endpoints.get(endpoint)
    changes: dict[str, Any] = {"goal": goal} | ({"method": method} if method else {})
    try:
        current = experiments.get(endpoint)
    except NotFound:
        current = None
    base = current.design.model_dump() if current is not None and current.running else {}
    design = parse_design(base | changes)
    try:
        arms = endpoint_arms(
            config.name,
            config.policy,
            config.params,
            _any_version,
            experiments.endpoints.policies.get,
        )
        challengers = len(arms.challengers)
    except InvalidInput:  # a single version: plan a one-challenger test
        challengers = 1
    if not 0 < history_days <= 365:
        raise InvalidInput(
            "The 'history_days' parameter must be a number in the range (0, 365]. "
            f"Got {history_days!r} instead."
        )
    with read(experiments.engine) as conn:
        return plan_experiment(
            conn,
            endpoint,
            design,
            mde=mde,
            relative=relative,
            challengers=challengers,
            now=experiments.clock.now(),
            history_days=history_days,
            preference=preference,
        )


def _any_version(ref: str) -> VersionKey:
    # Only the number of arms matters to a plan: references need not resolve.
    return VersionKey(ref, 0)
