"""The decision: promote, continue or roll back, with the reason in words and numbers.

``decide`` is a pure function of the design, one analysis, the ramp step, the time and the
stored fixed-horizon result, so every branch is testable without a server. The order is the
order of urgency:

1. a failure spike of the challenger in the current step rolls back;
2. a guardrail regression rolls back: the challenger is worse than the champion by
   significantly more than the guardrail's tolerance (the always-valid harm test, corrected
   over guardrails and arms), so rolling back needs evidence of harm;
3. a sample-ratio mismatch holds everything (the numbers cannot be trusted);
4. with ``min_sample`` units per arm, a significantly worse goal rolls back and a
   significantly better one promotes, corrected over challenger arms (Holm by default). A
   fixed-horizon method (anything but ``sequential``) is evaluated once, at the first look
   ``horizon_wait_seconds`` after every arm had ``min_sample`` units, and that stored result
   decides every later look: without a significant win the experiment ends, champion kept.
   A canary's numbers cover the current ramp step only, and only the last step before
   100 % (``analysis.regime.last``) may promote or end the experiment on the goal (or start
   its one fixed-horizon evaluation), so the whole ramp spends ``alpha`` once (earlier steps
   ramp on; a worse goal still rolls back);
5. a canary steps up the ramp once the step's minimum time and units are met; the last step
   (100 %) is the promotion, which needs a significant win unless ``require_win`` is off.

A ramp or a promotion also needs evidence of safety: every guardrail of the arm must be
non-inferior (the harmful end of its always-valid interval within the tolerance). Until
then the rollout holds, "waiting for evidence that latency_ms is within +25 %", instead of
waving an underpowered guardrail through. This is the decision rule of Schultzberg,
Ankargren and Frånberg (2024), "Risk-aware product decisions in A/B tests with multiple
metrics": the goal by superiority, guardrails by non-inferiority, no false-positive
correction across the non-inferiority tests (all must pass), and a power correction for
their number when planning the sample (see :mod:`champion.evaluation.planning`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from champion.evaluation.analysis import Analysis, MetricResult
from champion.evaluation.design import ExperimentDesign
from champion.evaluation.horizon import FIXED_HORIZON, Horizon, short_of_sample
from champion.evaluation.online import METRICS
from champion.evaluation.stattests import format_p_value

__all__ = ["FIXED_HORIZON", "Decision", "decide", "describe_result", "describe_tolerance"]


@dataclass(frozen=True)
class Decision:
    """``decision`` is promote, continue or rollback; ``action`` what carrying it out does
    now: promote, rollback, ramp (to ``share``), hold or none."""

    decision: str
    action: str
    reason: str
    arm: str | None = None
    share: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "action": self.action,
            "reason": self.reason,
            "arm": self.arm,
            "share": self.share,
        }


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def describe_tolerance(result: MetricResult) -> str:
    """How much worse a guardrail may get: ``+25 %`` of the champion, ``+0.01``, ``-0.02``."""
    sign = "-" if METRICS[result.metric].higher_is_better else "+"
    if result.relative is not None:
        return f"{sign}{100 * result.relative:.4g} %"
    return f"{sign}{result.tolerance or 0.0:.4g}"


def describe_result(result: MetricResult) -> str:
    """``ctr 0.041 vs 0.032 (change +0.009, 95 % CI +0.004 to +0.014, sequential p = 0.003)``.

    A p-value under 0.0001 prints as ``p < 0.0001``; a guardrail adds its tolerance and the
    p-values of its harm and non-inferiority tests.
    """
    text = f"{result.metric} {_number(result.challenger)} vs {_number(result.control)}"
    if result.metric == "interleaving":
        text = f"interleaving: mean unit preference {_number(result.challenger)}"
    stat = result.result
    if stat is None:
        return text
    level = round(100 * (1 - stat.alpha))
    parts = [f"change {stat.effect:+.4g}{' (relative)' if stat.relative else ''}"]
    if stat.ci is not None:
        parts.append(f"{level} % CI {stat.ci[0]:+.4g} to {stat.ci[1]:+.4g}")
    if stat.chance_to_win is not None:
        parts.append(f"chance to win {stat.chance_to_win:.3g}")
    parts.append(f"{stat.method} p {format_p_value(stat.p_value, equals=True)}")
    if result.role == "goal" and result.p_adjusted is not None:
        if abs(result.p_adjusted - stat.p_value) > 1e-12:
            parts.append(f"adjusted over arms p {format_p_value(result.p_adjusted, equals=True)}")
    if result.role == "guardrail" and result.tolerance is not None:
        margin = f"tolerance {describe_tolerance(result)}"
        if result.relative is not None:
            margin += f" = {result.tolerance:.4g}"
        if result.p_adjusted is not None:
            margin += f", harm p {format_p_value(result.p_adjusted, equals=True)}"
        if result.p_non_inferior is not None:
            margin += f", within p {format_p_value(result.p_non_inferior, equals=True)}"
        parts.append(margin)
    return f"{text} ({', '.join(parts)})"


def decide(
    design: ExperimentDesign,
    analysis: Analysis,
    step_started_at: datetime,
    now: datetime,
    horizon: Horizon | None = None,
    *,
    due: datetime | None = None,
) -> Decision:
    """Decide what to do with the experiment now; see the module docstring for the order.

    ``horizon`` is the stored one evaluation of a fixed-horizon goal (its results are
    already the analysis's goal results); without it, a fixed-horizon goal with
    ``min_sample`` units per arm is being evaluated at this look, unless ``due`` says when
    that one evaluation will run (``horizon_wait_seconds`` after ``min_sample`` was reached).
    """
    arms = analysis.arms
    if arms.policy == "bandit":
        return Decision(
            "continue",
            "none",
            "A bandit shifts traffic by itself; the inverse-propensity "
            "estimates show what each arm would earn alone. Promote by hand when one wins.",
        )
    logged = arms.logged_arms[1:] if arms.policy != "interleave" else arms.logged_arms
    for arm in logged:
        _, requests, failed = analysis.step.get(arm, (0, 0, 0))
        if requests >= design.spike_min_requests and failed >= design.failure_spike * requests:
            version = _version(analysis, arm)
            return Decision(
                "rollback",
                "rollback",
                f"Failure spike: {failed} of {requests} requests to "
                f"{version} failed in this step ({failed / requests:.0%}, limit "
                f"{design.failure_spike:.0%}); the champion answered them instead.",
                arm,
            )
    for result in analysis.results:
        if result.role == "guardrail" and result.verdict == "regressed":
            version = _version(analysis, result.arm)
            return Decision(
                "rollback",
                "rollback",
                f"Guardrail regressed for {version}: {describe_result(result)}.",
                result.arm,
            )
    srm = next((h for h in analysis.health if h.name == "srm"), None)
    if srm is not None and srm.status == "alert":
        return Decision("continue", "hold", f"Holding: {srm.detail}.")
    goals = [r for r in analysis.results if r.role == "goal"]
    fixed = design.method in FIXED_HORIZON
    short = "" if fixed and horizon is not None else short_of_sample(design, analysis)
    if fixed and horizon is None and due is not None and not short:
        short = (
            f"min_sample is reached; the {design.method} test runs once at "
            f"{due:%Y-%m-%d %H:%M:%S} UTC, {design.horizon_wait_seconds:g} s later, so the "
            "feedback of those units counts"
        )
    decided = f" ({horizon.describe()})" if fixed and horizon is not None else ""
    final = analysis.regime is None or analysis.regime.last
    if not short:
        worse = [g for g in goals if g.verdict == "worse"]
        # A fixed-horizon test is read once, in the last step: before that its verdict is
        # a look at a test that is not valid for looks.
        if worse and len(worse) == len(goals) and (final or not fixed):
            return Decision(
                "rollback",
                "rollback",
                f"The challenger is worse on the goal{decided}: {describe_result(worse[0])}.",
                worse[0].arm,
            )
        better = [g for g in goals if g.verdict == "better" and g.result is not None]
        if better and final:
            sign = 1 if METRICS[design.goal].higher_is_better else -1
            best = max(better, key=lambda g: sign * g.result.effect if g.result else 0.0)
            won = (
                f"Significant win for {_version(analysis, best.arm)} on the goal{decided}: "
                f"{describe_result(best)}"
            )
            unproven = _unproven(analysis, best.arm)
            if unproven:
                return Decision("continue", "hold", f"{won}; {unproven}.")
            return Decision(
                "promote",
                "promote",
                won + ("; guardrails hold." if len(analysis.results) > len(goals) else "."),
                best.arm,
            )
        if fixed and final:
            described = "; ".join(describe_result(g) for g in goals)
            at = (
                horizon.describe()
                if horizon is not None
                else f"at its planned sample ({design.min_sample} units per arm)"
            )
            return Decision(
                "rollback",
                "rollback",
                f"The {design.method} test is fixed-horizon, {at}: it found no significant "
                f"win ({described}), so the experiment ends and the champion stays.",
            )
    if arms.policy == "canary":
        return _ramp(design, analysis, step_started_at, now, short)
    return Decision("continue", "none", _waiting(goals, short))


def _version(analysis: Analysis, arm: str) -> str:
    key = analysis.arms.versions.get(arm)
    return str(key) if key is not None else analysis.metrics[arm].version


def _unproven(analysis: Analysis, arm: str) -> str:
    """Empty when every guardrail of ``arm`` is shown within its tolerance, else which
    ones are not (yet)."""
    waiting = [
        r for r in analysis.results if r.role == "guardrail" and r.arm == arm and r.verdict != "ok"
    ]
    if not waiting:
        return ""
    described = "; ".join(
        f"{r.metric} is within {describe_tolerance(r)}: "
        + (describe_result(r) if r.result is not None else "no data yet")
        for r in waiting
    )
    return f"waiting for evidence that {described}"


def _waiting(goals: list[MetricResult], short: str) -> str:
    if short:
        return f"Collecting data: {short}."
    described = "; ".join(describe_result(g) for g in goals)
    return f"No significant difference on the goal yet: {described}."


def _ramp(
    design: ExperimentDesign,
    analysis: Analysis,
    step_started_at: datetime,
    now: datetime,
    short: str,
) -> Decision:
    share = analysis.arms.share or 0.0
    later = [step for step in design.ramp.steps if step > share + 1e-9]
    goals = [r for r in analysis.results if r.role == "goal"]
    if not later:
        return Decision(
            "continue", "hold", f"At the last step ({share:.0%}). {_waiting(goals, short)}"
        )
    elapsed = (now - step_started_at).total_seconds()
    if elapsed < design.ramp.min_seconds:
        return Decision(
            "continue",
            "hold",
            f"Step {share:.0%} has run {elapsed:.0f} s of the "
            f"{design.ramp.min_seconds:.0f} s it needs before the next step.",
        )
    units = analysis.step.get("challenger", (0, 0, 0))[0]
    if units < design.ramp.min_units:
        return Decision(
            "continue",
            "hold",
            f"Step {share:.0%} has {units} of the {design.ramp.min_units} "
            "challenger units it needs before the next step.",
        )
    unproven = _unproven(analysis, "challenger")
    if later[0] >= 1.0:
        if not design.require_win and not short and not unproven:
            return Decision(
                "promote",
                "promote",
                f"The ramp reached {share:.0%} with every guardrail shown within its "
                "tolerance and no significant loss on the goal (require_win is off).",
                "challenger",
            )
        if not design.require_win and unproven:
            return Decision(
                "continue",
                "hold",
                f"The ramp reached {share:.0%}; {unproven[0].upper()}{unproven[1:]}.",
            )
        return Decision(
            "continue",
            "hold",
            f"The ramp reached {share:.0%}; going to 100 % is the "
            f"promotion and needs a significant win. {_waiting(goals, short)}",
        )
    if unproven:
        return Decision(
            "continue",
            "hold",
            f"Step {share:.0%} has run its time and units; before {later[0]:.0%}, {unproven}.",
        )
    return Decision(
        "continue",
        "ramp",
        f"Step {share:.0%} is healthy after {elapsed:.0f} s and {units} "
        f"challenger units: ramp to {later[0]:.0%}.",
        "challenger",
        later[0],
    )
