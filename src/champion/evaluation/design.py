"""The design of an experiment: what it measures, how it tests, how far it may act alone."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from champion.errors import InvalidInput
from champion.evaluation.online import METRICS
from champion.validation import invalid_input

__all__ = [
    "AUTOMATION_LEVELS",
    "DEFAULT_STEPS",
    "METHODS",
    "ExperimentDesign",
    "Guardrail",
    "Ramp",
    "check_fits",
    "parse_design",
]

DEFAULT_STEPS = (0.01, 0.05, 0.10, 0.25, 0.50, 1.0)
AUTOMATION_LEVELS = ("manual", "approve", "auto")
METHODS = ("sequential", "delta", "welch", "bayesian", "interleaving")
"""Registered StatTest names an experiment can test its goal with."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _known_metric(name: str) -> str:
    if name not in METRICS:
        raise ValueError(f"unknown metric; known metrics: {', '.join(sorted(METRICS))}")
    return name


class Guardrail(_Strict):
    """A metric the challenger may not make worse by more than ``tolerance``."""

    metric: str
    tolerance: float = Field(default=0.0, ge=0, description="Tolerated regression.")
    relative: bool = Field(
        default=False, description="tolerance is a share of the champion's value (0.1 = 10 %)."
    )

    @field_validator("metric")
    @classmethod
    def _metric(cls, name: str) -> str:
        return _known_metric(name)


class Ramp(_Strict):
    """Canary shares to go through, and what each step needs before the next one."""

    steps: tuple[float, ...] = Field(default=DEFAULT_STEPS, min_length=1, max_length=20)
    min_seconds: float = Field(default=3600.0, ge=0, description="Minimum time per step.")
    min_units: int = Field(default=100, ge=0, description="Challenger units per step.")

    @field_validator("steps")
    @classmethod
    def _increasing(cls, steps: tuple[float, ...]) -> tuple[float, ...]:
        if any(not 0 < share <= 1 for share in steps):
            raise ValueError("every step must be a share in (0, 1]")
        if any(b <= a for a, b in itertools.pairwise(steps)):
            raise ValueError("steps must increase (ramping only adds units)")
        return steps


class ExperimentDesign(_Strict):
    """How an endpoint's champion and challenger are compared, and who acts on the result.

    ``goal`` is the metric the challenger must improve (``interleaving`` on an interleave
    endpoint); each guardrail may not regress beyond its tolerance. ``method`` tests the
    goal: ``sequential`` (the default, always valid however often the controller looks) or
    one of the fixed-horizon tests, which are evaluated once, at the first look with
    ``min_sample`` units per arm, and never re-tested: ``delta`` or ``welch``, ``bayesian``
    (chance to win above ``chance_to_win``) or ``interleaving`` (the ``interleaving_test``
    over units: a one-sample ``t``-test of the unit preferences, a ``sign`` test or a
    ``bootstrap``; each unit's wins and losses give one preference). Guardrails always use
    the sequential test, whatever ``method`` is, because the controller watches them at
    every look. ``correction`` (Holm by default) adjusts the
    goal over challenger arms and the guardrails' harm tests over guardrails and arms; the
    guardrails' non-inferiority tests are never corrected (a promotion needs all of them).
    With ``cuped`` on, the goal (an event metric, ``sequential`` or ``delta``) is adjusted
    by each unit's own value of it over ``cuped_days`` before the experiment started.
    ``automation`` says who acts: ``manual`` (report only), ``approve`` (ramps and
    promotions wait for a person; rollbacks happen at once) or ``auto``.
    """

    goal: str
    guardrails: tuple[Guardrail, ...] | None = Field(
        default=None,
        description="Default: error_rate +0.01 and latency_ms +25 % (none for interleave).",
    )
    min_sample: int = Field(default=100, ge=2, description="Units per arm before a verdict.")
    alpha: float = Field(default=0.05, gt=0, le=0.5)
    method: Literal["sequential", "delta", "welch", "bayesian", "interleaving"] = "sequential"
    automation: Literal["manual", "approve", "auto"] = "manual"
    ramp: Ramp = Field(default_factory=Ramp)
    require_win: bool = Field(
        default=True,
        description="Promote only on a significant win; false: also after a clean ramp.",
    )
    failure_spike: float = Field(
        default=0.2, gt=0, le=1, description="Failing share of challenger requests: rollback."
    )
    spike_min_requests: int = Field(default=10, ge=1)
    guardrail_min_units: int = Field(
        default=10, ge=2, description="Units per arm before a guardrail can roll back."
    )
    sequential_tuning: float = Field(
        default=5000.0,
        gt=0,
        description="sequential: total units where its interval is "
        "narrowest; set it near the sample you expect.",
    )
    correction: Literal["holm", "bh", "none"] = Field(
        default="holm",
        description="Over challenger arms for the goal, over guardrails and arms for harm.",
    )
    horizon_wait_seconds: float = Field(
        default=0.0,
        ge=0,
        le=90 * 86400,
        description="fixed-horizon: wait this long after min_sample is reached before the "
        "one evaluation, so the feedback of those units arrives (clicks: minutes; labels: "
        "days).",
    )
    cuped: bool = Field(
        default=False,
        description="sequential or delta: adjust the goal by each unit's own pre-period value.",
    )
    cuped_days: float = Field(
        default=14.0, gt=0, le=365, description="cuped: the pre-period's length in days."
    )
    chance_to_win: float = Field(
        default=0.95,
        gt=0.5,
        lt=1,
        description="bayesian: the chance to win (or to lose) that makes a verdict.",
    )
    power: float = Field(
        default=0.8,
        gt=0,
        lt=1,
        description="Planning: the chance to find an effect of the planned size.",
    )
    interleaving_test: Literal["t", "sign", "bootstrap"] = Field(
        default="t",
        description="method interleaving: the fixed-horizon test over units' preferences "
        "(other methods ignore it).",
    )
    ndcg_k: int = Field(default=10, ge=1, le=1000)

    @field_validator("goal")
    @classmethod
    def _goal(cls, name: str) -> str:
        return _known_metric(name)

    @property
    def goal_alpha(self) -> float:
        """The level the goal's (corrected) p-value is compared with: ``alpha``, or for
        ``bayesian`` ``2 (1 - chance_to_win)``, since its p-value is
        ``2 min(chance_to_win, 1 - chance_to_win)``."""
        if self.method == "bayesian":
            return 2.0 * (1.0 - self.chance_to_win)
        return self.alpha

    def guardrails_for(self, policy: str) -> tuple[Guardrail, ...]:
        if self.guardrails is not None:
            return self.guardrails
        if policy == "interleave":
            return ()
        return (
            Guardrail(metric="error_rate", tolerance=0.01),
            Guardrail(metric="latency_ms", tolerance=0.25, relative=True),
        )


def parse_design(body: Mapping[str, Any]) -> ExperimentDesign:
    """Validate an experiment design; errors name ``experiment.<field>``."""
    try:
        return ExperimentDesign.model_validate(dict(body))
    except ValidationError as exc:
        raise invalid_input(exc, "experiment") from None


def check_fits(design: ExperimentDesign, policy: str) -> None:
    """Refuse a design that cannot measure what an endpoint with ``policy`` compares."""
    if design.cuped and (
        design.method not in {"sequential", "delta"} or (METRICS[design.goal].source != "events")
    ):
        raise InvalidInput(
            "experiment.cuped: CUPED adjusts an event metric (ctr, click_rate, conversion, "
            "value_per_unit, error_rate, latency_ms, coverage) tested with 'sequential' or "
            f"'delta'; got goal {design.goal!r} with method {design.method!r}."
        )
    if policy == "interleave":
        if design.goal != "interleaving":
            raise InvalidInput(
                f"experiment.goal: an interleave endpoint measures which ranker users prefer; "
                f"use goal 'interleaving', got {design.goal!r}."
            )
        if design.method not in {"sequential", "interleaving"}:
            raise InvalidInput(
                "experiment.method: interleaving is tested with 'sequential' (always valid) "
                f"or 'interleaving' (fixed-horizon, over units), got {design.method!r}."
            )
        if design.guardrails:
            raise InvalidInput(
                "experiment.guardrails: under interleave both versions answer every request, "
                "so per-arm guardrails do not apply; leave them out."
            )
        return
    if design.goal == "interleaving" or design.method == "interleaving":
        raise InvalidInput(
            f"experiment.goal: 'interleaving' needs an interleave endpoint; this one uses "
            f"{policy}. Pick a metric such as ctr, click_rate or error_rate."
        )
