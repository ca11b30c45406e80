"""Answers of experiments: the list, the report, its timeline and the plan."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from champion.answers.base import Answer
from champion.answers.serving import InterleavingComparison

__all__ = [
    "ArmNumbers",
    "DecisionAnswer",
    "ExperimentListAnswer",
    "ExperimentReport",
    "ExperimentState",
    "ExperimentSummary",
    "HealthCheckAnswer",
    "MetricResultAnswer",
    "PlanAnswer",
    "PlanHistory",
    "PropensityAnswer",
    "RegimeAnswer",
    "StepAnswer",
    "TimelineAnswer",
    "TimelineArm",
    "TimelineGoal",
    "TimelinePoint",
]

Interval = list[float | None]
"""[low, high]; an end JSON cannot hold (an infinite bound) is null."""


class ExperimentState(Answer):
    id: int
    endpoint: str = Field(examples=["recs"])
    status: str = Field(examples=["running"], description="running, promoted or rolled_back.")
    design: dict[str, Any] = Field(description="Goal, guardrails, test, automation, ramp.")
    started_at: str
    step_started_at: str
    finished_at: str | None
    pending: dict[str, Any] | None = Field(description="The action awaiting approval.")
    outcome: dict[str, Any] | None
    created_by: str
    updated_at: str
    updated_by: str
    revision: int
    horizon_reached_at: str | None
    horizon: dict[str, Any] | None = Field(
        description="A fixed-horizon goal's one evaluation, once its sample was reached."
    )


class ExperimentSummary(ExperimentState):
    last_decision: dict[str, Any] | None = Field(description="The controller's last decision.")


class ExperimentListAnswer(Answer):
    experiments: list[ExperimentSummary]


class ArmNumbers(Answer):
    arm: str = Field(examples=["challenger"])
    version: str = Field(examples=["recs/2"])
    units: int
    requests: int
    impressions: int
    clicked_impressions: int
    failures: int
    metrics: dict[str, float | None] = Field(examples=[{"ctr": 0.041, "click_rate": 0.12}])
    latency_ms: dict[str, float | None]
    feedback_delay_seconds: dict[str, float | None]
    labels: dict[str, float | None] = Field(description="Label metrics: auc, log_loss, …")


class MetricResultAnswer(Answer):
    metric: str = Field(examples=["ctr"])
    role: str = Field(examples=["goal"], description="goal or guardrail.")
    arm: str
    higher_is_better: bool
    control: float | None
    challenger: float | None
    effect: float | None
    ci: Interval | None
    p_value: float | None
    p_adjusted: float | None
    p_non_inferior: float | None
    chance_to_win: float | None
    relative: bool
    method: str | None
    tolerance: float | None
    relative_tolerance: float | None
    verdict: str = Field(
        examples=["better"],
        description="Goal: better, worse, inconclusive; guardrail: ok, regressed, "
        "inconclusive; no data.",
    )


class HealthCheckAnswer(Answer):
    name: str = Field(examples=["srm"])
    status: str = Field(examples=["ok"])
    detail: str
    numbers: dict[str, Any]


class PropensityAnswer(Answer):
    arm: str
    requests: int
    ips: float | None
    ips_ci: Interval
    snips: float | None
    snips_ci: Interval | None


class RegimeAnswer(Answer):
    step: int = Field(description="The ramp step, from 1.")
    policy: str
    share: float | None
    expected_shares: dict[str, float] | None
    config_versions: list[int] = Field(description="The first and last configuration.")
    started_at: str
    last_before_full: bool


class StepAnswer(RegimeAnswer):
    units: dict[str, int]
    requests: dict[str, int]
    srm: HealthCheckAnswer


class DecisionAnswer(Answer):
    decision: str = Field(examples=["continue"], description="promote, continue or rollback.")
    action: str = Field(examples=["ramp"], description="promote, rollback, ramp, hold or none.")
    reason: str
    arm: str | None
    share: float | None = Field(description="The share a ramp moves to.")


class ExperimentReport(ExperimentState):
    """The experiment with its numbers now: per arm, tests, health and the decision."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "endpoint": "churn",
                    "status": "running",
                    "design": {"goal": "click_rate", "method": "sequential", "alpha": 0.05},
                    "started_at": "2026-03-01T10:00:00+00:00",
                    "step_started_at": "2026-03-01T10:00:00+00:00",
                    "finished_at": None,
                    "pending": None,
                    "outcome": None,
                    "created_by": "alice",
                    "updated_at": "2026-03-01T10:00:00+00:00",
                    "updated_by": "alice",
                    "revision": 1,
                    "horizon_reached_at": None,
                    "horizon": None,
                    "policy": "canary",
                    "share": 0.05,
                    "versions": {"champion": "churn/3", "challenger": "churn/4"},
                    "arms": [],
                    "results": [],
                    "health": [],
                    "interleaving": None,
                    "propensity": None,
                    "regime": None,
                    "steps": [],
                    "decision": {
                        "decision": "continue",
                        "action": "hold",
                        "reason": "100 units per arm are needed; the challenger has 12.",
                        "arm": None,
                        "share": None,
                    },
                }
            ]
        }
    )

    policy: str | None
    stage: str | None = Field(
        default=None,
        exclude_if=lambda stage: stage is None,  # as sent: only a pipeline endpoint's
        description="The pipeline endpoint's stage under test, whose arms are compared.",
    )
    share: float | None = Field(description="The challenger's share now (canary).")
    versions: dict[str, str] | None = Field(description="Arm to version.")
    arms: list[ArmNumbers]
    results: list[MetricResultAnswer]
    health: list[HealthCheckAnswer]
    interleaving: InterleavingComparison | None
    propensity: list[PropensityAnswer] | None
    regime: RegimeAnswer | None = Field(description="The ramp step the numbers cover.")
    steps: list[StepAnswer]
    decision: DecisionAnswer


class TimelineArm(Answer):
    arm: str
    version: str
    units: int
    requests: int
    value: float | None
    ci: Interval | None


class TimelineGoal(Answer):
    arm: str
    control: float | None
    challenger: float | None
    effect: float | None
    ci: Interval | None
    p_value: float | None
    relative: bool
    verdict: str
    tested: bool = Field(description="Whether this look is the one the decision tested.")


class TimelinePoint(Answer):
    end: str
    step: int | None
    arms: list[TimelineArm]
    goal: list[TimelineGoal]
    interleaving: dict[str, int] | None = Field(description="Units and impressions so far.")


class TimelineAnswer(Answer):
    endpoint: str
    experiment: int
    status: str
    goal: str
    method: str
    alpha: float
    started_at: str
    points: list[TimelinePoint] = Field(description="Cumulative looks, oldest first.")


class PlanHistory(Answer):
    days: float
    units: int
    units_per_day: float


class PlanAnswer(Answer):
    endpoint: str
    goal: str
    method: str
    mde: float
    baseline: float | None
    sd: float | None
    challengers: int
    units_per_arm: int | None
    total_units: int | None
    days: float | None
    goal_units_per_arm: int | None
    fixed_horizon_units_per_arm: int | None
    guardrails: list[dict[str, Any]]
    history: PlanHistory
    interleaving: dict[str, Any] | None
    notes: list[str]
