"""Every branch of the decision, in its order of urgency, on hand-built analyses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from champion.evaluation.analysis import Analysis, MetricResult
from champion.evaluation.arms import ExperimentArms
from champion.evaluation.decision import decide
from champion.evaluation.design import ExperimentDesign, parse_design
from champion.evaluation.health import HealthCheck
from champion.evaluation.online import ArmMetrics
from champion.evaluation.stattests import StatResult
from champion.registry.entities import VersionKey

NOW = datetime(2026, 3, 1, tzinfo=UTC)
CANARY = ExperimentArms(
    "canary",
    "champion",
    ("challenger",),
    {"champion": "m@champion", "challenger": "m@challenger"},
    {"champion": VersionKey("m", 1), "challenger": VersionKey("m", 2)},
    share=0.05,
    expected_shares={"champion": 0.95, "challenger": 0.05},
)


def _design(**changes: Any) -> ExperimentDesign:
    body: dict[str, Any] = {
        "goal": "ctr",
        "min_sample": 100,
        "ramp": {"min_seconds": 600, "min_units": 20},
    }
    return parse_design(body | changes)


def _arm(name: str, units: int) -> ArmMetrics:
    return ArmMetrics(name, f"m/{1 if name == 'champion' else 2}", units, {}, {}, {}, {})


def _result(metric: str, role: str, verdict: str, effect: float = 0.01) -> MetricResult:
    stat = StatResult(2.0, 0.01, (effect / 2, effect * 2), effect, "sequential")
    tolerance = 0.01 if role == "guardrail" else None
    return MetricResult(metric, role, "challenger", 0.1, 0.1 + effect, stat, verdict, tolerance)


def _analysis(
    goal: str = "inconclusive",
    guardrail: str = "ok",
    units: int = 500,
    step: tuple[int, int, int] = (50, 100, 0),
    srm: str = "ok",
    arms: ExperimentArms = CANARY,
) -> Analysis:
    return Analysis(
        arms,
        {"champion": _arm("champion", units), "challenger": _arm("challenger", units)},
        [_result("ctr", "goal", goal), _result("error_rate", "guardrail", guardrail)],
        [HealthCheck("srm", srm, "split detail"), HealthCheck("coverage", "ok", "")],
        {"challenger": step},
    )


def test_a_failure_spike_rolls_back_before_anything_else() -> None:
    decision = decide(_design(), _analysis(goal="better", step=(10, 20, 5)), NOW, NOW)
    assert (decision.decision, decision.action) == ("rollback", "rollback")
    assert "5 of 20 requests to m/2 failed" in decision.reason and "25%" in decision.reason


def test_too_few_requests_are_not_a_spike() -> None:
    decision = decide(_design(spike_min_requests=30), _analysis(step=(10, 20, 20)), NOW, NOW)
    assert decision.action != "rollback"


def test_a_guardrail_regression_rolls_back() -> None:
    decision = decide(_design(), _analysis(goal="better", guardrail="regressed"), NOW, NOW)
    assert decision.action == "rollback"
    assert decision.reason.startswith("Guardrail regressed for m/2: error_rate 0.11 vs 0.1")
    assert "tolerance +0.01" in decision.reason


def test_sample_ratio_mismatch_holds_even_a_win() -> None:
    decision = decide(_design(), _analysis(goal="better", srm="alert"), NOW, NOW)
    assert (decision.decision, decision.action) == ("continue", "hold")
    assert "split detail" in decision.reason


def test_a_significant_win_promotes_once_the_sample_is_reached() -> None:
    assert decide(_design(), _analysis(goal="better"), NOW, NOW).action == "promote"
    early = decide(_design(), _analysis(goal="better", units=50), NOW, NOW)
    assert early.action == "hold"  # the ramp waits for its minimum time instead


def test_a_significant_loss_on_the_goal_rolls_back() -> None:
    decision = decide(_design(), _analysis(goal="worse", units=200), NOW, NOW)
    assert decision.action == "rollback"
    assert "worse on the goal: ctr" in decision.reason


def test_the_ramp_waits_for_time_and_units_then_steps_up() -> None:
    started = NOW - timedelta(seconds=300)
    waiting = decide(_design(), _analysis(), started, NOW)
    assert waiting.action == "hold" and "300 s of the 600 s" in waiting.reason
    started = NOW - timedelta(seconds=900)
    few = decide(_design(), _analysis(step=(5, 10, 0)), started, NOW)
    assert few.action == "hold" and "5 of the 20 challenger units" in few.reason
    step = decide(_design(), _analysis(), started, NOW)
    assert (step.action, step.share) == ("ramp", 0.10)
    assert "ramp to 10%" in step.reason


def test_a_guardrail_not_yet_shown_within_its_tolerance_holds_ramps_and_promotions() -> None:
    started = NOW - timedelta(seconds=900)
    held = decide(_design(), _analysis(guardrail="inconclusive"), started, NOW)
    assert held.action == "hold"
    assert "before 10%, waiting for evidence that error_rate is within +0.01: " in held.reason
    win = decide(_design(), _analysis(goal="better", guardrail="no data"), started, NOW)
    assert (win.decision, win.action) == ("continue", "hold")
    assert "waiting for evidence that error_rate is within +0.01: error_rate 0.11" in win.reason
    at_half = ExperimentArms(**{**vars(CANARY), "share": 0.5})
    clean = _analysis(arms=at_half, guardrail="inconclusive")
    assert decide(_design(require_win=False), clean, started, NOW).action == "hold"


def test_the_last_step_is_the_promotion_and_needs_a_win() -> None:
    at_half = ExperimentArms(**{**vars(CANARY), "share": 0.5})
    started = NOW - timedelta(hours=1)
    hold = decide(_design(), _analysis(arms=at_half), started, NOW)
    assert hold.action == "hold" and "needs a significant win" in hold.reason
    clean = decide(_design(require_win=False), _analysis(arms=at_half), started, NOW)
    assert clean.action == "promote" and "require_win is off" in clean.reason


def test_an_interleaving_or_ab_experiment_waits_without_a_ramp() -> None:
    ab = ExperimentArms(
        "ab",
        "control",
        ("b",),
        {"control": "m/1", "b": "m/2"},
        {"control": VersionKey("m", 1), "b": VersionKey("m", 2)},
        expected_shares={"control": 0.5, "b": 0.5},
    )
    analysis = Analysis(
        ab,
        {"control": _arm("control", 500), "b": _arm("b", 500)},
        [MetricResult("ctr", "goal", "b", 0.1, 0.1, None, "inconclusive")],
        [],
        {},
    )
    decision = decide(_design(), analysis, NOW, NOW)
    assert (decision.decision, decision.action) == ("continue", "none")
    assert decision.reason.startswith("No significant difference on the goal yet")


def test_a_bandit_is_reported_not_decided() -> None:
    bandit = ExperimentArms(**{**vars(CANARY), "policy": "bandit", "expected_shares": None})
    decision = decide(_design(), _analysis(arms=bandit), NOW, NOW)
    assert decision.action == "none" and "inverse-propensity" in decision.reason


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"goal": "ctx"}, "experiment.goal: Value error, unknown metric; known metrics: accuracy"),
        ({"goal": "ctr", "alpha": 0.7}, "experiment.alpha: Input should be less than or equal"),
        ({"goal": "ctr", "ramp": {"steps": [0.5, 0.2]}}, "steps must increase"),
        ({"goal": "ctr", "ramp": {"steps": [0.0]}}, "every step must be a share in"),
        ({"goal": "ctr", "automation": "yes"}, "experiment.automation: Input should be"),
        ({"goal": "ctr", "guardrails": [{"metric": "x"}]}, "experiment.guardrails[0].metric"),
        ({"goal": "ctr", "colour": 1}, "experiment.colour: Extra inputs are not permitted"),
        ({}, "experiment.goal: Field required"),
    ],
)
def test_designs_are_validated_with_the_field_named(body: dict[str, Any], message: str) -> None:
    from champion.errors import InvalidInput

    with pytest.raises(InvalidInput, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_design(body)
