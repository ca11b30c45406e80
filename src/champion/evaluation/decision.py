"""The decision: promote, continue or roll back, with the reason in words and numbers.

``decide`` is a pure function of the design, one analysis, the ramp step and the time, so
every branch is testable without a server. The order is the order of urgency:

1. a failure spike of the challenger in the current step rolls back;
2. a guardrail regression rolls back;
3. a sample-ratio mismatch holds everything (the numbers cannot be trusted);
4. with ``min_sample`` units per arm, a significantly worse goal rolls back and a
   significantly better one promotes; a fixed-horizon method (anything but ``sequential``)
   decides only then, once: without a significant win the experiment ends, champion kept;
   a canary's numbers cover the current ramp step only, and only the last step before
   100 % (``analysis.regime.last``) may promote or end the experiment on the goal, so the
   whole ramp spends ``alpha`` once (earlier steps ramp on; a worse goal still rolls back);
5. a canary steps up the ramp once the step's minimum time and units are met; the last step
   (100 %) is the promotion, which needs a significant win unless ``require_win`` is off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from champion.evaluation.analysis import Analysis, MetricResult
from champion.evaluation.design import ExperimentDesign
from champion.evaluation.online import METRICS

__all__ = ["FIXED_HORIZON", "Decision", "decide", "describe_result"]

FIXED_HORIZON = frozenset({"delta", "welch", "bayesian", "interleaving"})
"""Methods valid for one look only: they decide once, when ``min_sample`` is reached."""


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


def describe_result(result: MetricResult) -> str:
    """``ctr 0.041 vs 0.032 (change +0.009, 95 % CI +0.004 to +0.014, p = 0.003)``."""
    text = f"{result.metric} {_number(result.challenger)} vs {_number(result.control)}"
    if result.metric == "interleaving":
        text = f"interleaving Δ_AB {_number(result.challenger)}"
    stat = result.result
    if stat is None:
        return text
    level = round(100 * (1 - stat.alpha))
    parts = [f"change {stat.effect:+.4g}{' (relative)' if stat.relative else ''}"]
    if stat.ci is not None:
        parts.append(f"{level} % CI {stat.ci[0]:+.4g} to {stat.ci[1]:+.4g}")
    parts.append(f"{stat.method} p = {stat.p_value:.2g}")
    if result.tolerance is not None:
        margin = "" if result.p_adjusted is None else f", margin p = {result.p_adjusted:.2g}"
        parts.append(f"tolerance {result.tolerance:.4g}{margin}")
    return f"{text} ({', '.join(parts)})"


def decide(
    design: ExperimentDesign,
    analysis: Analysis,
    step_started_at: datetime,
    now: datetime,
) -> Decision:
    """Decide what to do with the experiment now; see the module docstring for the order."""
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
    short = _short_of_sample(design, analysis)
    if not short:
        worse = [g for g in goals if g.verdict == "worse"]
        if worse and len(worse) == len(goals):
            return Decision(
                "rollback",
                "rollback",
                f"The challenger is worse on the goal: {describe_result(worse[0])}.",
                worse[0].arm,
            )
        better = [g for g in goals if g.verdict == "better" and g.result is not None]
        final = analysis.regime is None or analysis.regime.last
        if better and final:
            sign = 1 if METRICS[design.goal].higher_is_better else -1
            best = max(better, key=lambda g: sign * g.result.effect if g.result else 0.0)
            return Decision(
                "promote",
                "promote",
                f"Significant win for {_version(analysis, best.arm)} on the goal: "
                f"{describe_result(best)}"
                + ("; guardrails hold." if len(analysis.results) > len(goals) else "."),
                best.arm,
            )
        if design.method in FIXED_HORIZON and final:
            described = "; ".join(describe_result(g) for g in goals)
            return Decision(
                "rollback",
                "rollback",
                f"The {design.method} test is fixed-horizon: at its planned sample "
                f"({design.min_sample} units per arm) it found no significant win "
                f"({described}), so the experiment ends and the champion stays.",
            )
    if arms.policy == "canary":
        return _ramp(design, analysis, step_started_at, now, short)
    return Decision("continue", "none", _waiting(goals, short))


def _version(analysis: Analysis, arm: str) -> str:
    key = analysis.arms.versions.get(arm)
    return str(key) if key is not None else analysis.metrics[arm].version


def _short_of_sample(design: ExperimentDesign, analysis: Analysis) -> str:
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
    if later[0] >= 1.0:
        if not design.require_win and not short:
            return Decision(
                "promote",
                "promote",
                f"The ramp reached {share:.0%} with every guardrail "
                "holding and no significant loss on the goal (require_win is off).",
                "challenger",
            )
        return Decision(
            "continue",
            "hold",
            f"The ramp reached {share:.0%}; going to 100 % is the "
            f"promotion and needs a significant win. {_waiting(goals, short)}",
        )
    return Decision(
        "continue",
        "ramp",
        f"Step {share:.0%} is healthy after {elapsed:.0f} s and {units} "
        f"challenger units: ramp to {later[0]:.0%}.",
        "challenger",
        later[0],
    )
