"""Health checks of an experiment: is the split as configured, does feedback join every arm?"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from champion.evaluation.arms import ExperimentArms
from champion.evaluation.online import ArmMetrics
from champion.evaluation.stattests import SrmTest, format_p_value

__all__ = ["HealthCheck", "coverage_check", "srm_check"]


@dataclass(frozen=True)
class HealthCheck:
    """``ok``, ``alert`` (results are not to be trusted) or ``no data``, with the numbers."""

    name: str
    status: str
    detail: str
    numbers: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "detail": self.detail,
            "numbers": self.numbers,
        }


def srm_check(
    arms: ExperimentArms,
    step: dict[str, tuple[int, int, int]],
    shares: Mapping[str, float] | None = None,
) -> HealthCheck:
    """Do the arms' unit counts in one ramp step match that step's split (``shares``; by
    default the split configured now)? ``step`` holds the (units, requests, failed) of each
    arm among the predictions routed by the step's configurations, so a request still routed
    at an earlier step's share never counts against this one. Each challenger is tested
    against the control (SrmTest, alert at p < 0.001)."""
    expected = arms.expected_shares if shares is None else dict(shares)
    if expected is None:
        return HealthCheck("srm", "ok", f"not applicable to {arms.policy}: it adapts the split")
    counts = {arm: step.get(arm, (0, 0, 0))[0] for arm in arms.logged_arms}
    worst: tuple[float, str] | None = None
    for arm in arms.challengers:
        share_a, share_b = expected.get(arms.control, 0.0), expected.get(arm, 0.0)
        if share_a == 0 or share_b == 0:
            continue
        result = SrmTest(expected_share=share_b / (share_a + share_b)).run(
            counts[arms.control], counts[arm]
        )
        if not result.enough_data:
            return HealthCheck("srm", "no data", "fewer than 8 units in an arm", counts)
        if worst is None or result.p_value < worst[0]:
            worst = (result.p_value, arm)
    if worst is None:
        return HealthCheck("srm", "no data", "no arm shares units with the control", counts)
    p, arm = worst
    numbers = {"units": counts, "expected_shares": expected, "p_value": p}
    shown = format_p_value(p, equals=True)
    if p < 0.001:
        return HealthCheck(
            "srm",
            "alert",
            f"sample ratio mismatch in arm {arm!r} (p {shown}, under 0.001): "
            "assignment or logging is broken; results are not to be trusted",
            numbers,
        )
    return HealthCheck("srm", "ok", f"units match the configured split (p {shown})", numbers)


def coverage_check(goal: str, arms: ExperimentArms, metrics: dict[str, ArmMetrics]) -> HealthCheck:
    """Does feedback join every arm alike? A challenger with far less feedback than the
    control (e.g. it breaks the ids clients send back) biases every feedback metric."""
    coverage = {arm: m.value("coverage") for arm, m in metrics.items()}
    numbers = {"coverage": coverage}
    if any(value is None for value in coverage.values()):
        return HealthCheck("coverage", "no data", "an arm has no requests yet", numbers)
    needs_feedback = goal not in {"error_rate", "latency_ms"}
    control = coverage[arms.control] or 0.0
    for arm in arms.challengers:
        share = coverage[arm] or 0.0
        if needs_feedback and control > 0 and share < 0.5 * control:
            return HealthCheck(
                "coverage",
                "alert",
                f"arm {arm!r} has feedback on {share:.1%} of requests "
                f"against {control:.1%} for {arms.control!r}: its feedback may be lost",
                numbers,
            )
    if needs_feedback and control == 0:
        return HealthCheck("coverage", "no data", "no feedback joined yet", numbers)
    return HealthCheck("coverage", "ok", "feedback joins every arm alike", numbers)
