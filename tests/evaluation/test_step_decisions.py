"""Across a ramp, only the last step before 100 % may promote on the goal (or end a
fixed-horizon test): the whole ramp spends alpha once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from champion.evaluation.analysis import Analysis, MetricResult
from champion.evaluation.arms import ExperimentArms
from champion.evaluation.decision import decide
from champion.evaluation.design import parse_design
from champion.evaluation.health import HealthCheck
from champion.evaluation.online import ArmMetrics
from champion.evaluation.regimes import Regime
from champion.evaluation.stattests import StatResult
from champion.registry.entities import VersionKey

NOW = datetime(2026, 3, 1, tzinfo=UTC)
RAMP = {"steps": [0.05, 0.2, 0.5, 1.0], "min_seconds": 600, "min_units": 20}


def _canary(share: float) -> ExperimentArms:
    return ExperimentArms(
        "canary",
        "champion",
        ("challenger",),
        {"champion": "m@champion", "challenger": "m@challenger"},
        {"champion": VersionKey("m", 1), "challenger": VersionKey("m", 2)},
        share=share,
        expected_shares={"champion": 1 - share, "challenger": share},
    )


def _analysis(share: float, verdict: str, last: bool) -> Analysis:
    stat = StatResult(3.0, 0.001, (0.01, 0.03), 0.02, "sequential")
    goal = MetricResult("click_rate", "goal", "challenger", 0.1, 0.12, stat, verdict)
    arms = {
        name: ArmMetrics(name, f"m/{n}", 500, {}, {}, {}, {})
        for n, name in enumerate(("champion", "challenger"), start=1)
    }
    regime = Regime(1, "canary", share, _canary(share).expected_shares, 3, 3, NOW, last)
    return Analysis(
        _canary(share),
        arms,
        [goal],
        [HealthCheck("srm", "ok", ""), HealthCheck("coverage", "ok", "")],
        {"challenger": (500, 900, 0)},
        regime=regime,
    )


def test_a_win_in_an_early_step_ramps_on() -> None:
    design = parse_design({"goal": "click_rate", "ramp": RAMP})
    decision = decide(design, _analysis(0.2, "better", False), NOW - timedelta(hours=1), NOW)
    assert (decision.decision, decision.action, decision.share) == ("continue", "ramp", 0.5)


def test_a_win_in_the_last_step_before_full_promotes() -> None:
    design = parse_design({"goal": "click_rate", "ramp": RAMP})
    decision = decide(design, _analysis(0.5, "better", True), NOW - timedelta(hours=1), NOW)
    assert (decision.decision, decision.action) == ("promote", "promote")


def test_a_loss_rolls_back_in_any_step() -> None:
    design = parse_design({"goal": "click_rate", "ramp": RAMP})
    decision = decide(design, _analysis(0.05, "worse", False), NOW - timedelta(hours=1), NOW)
    assert (decision.decision, decision.action) == ("rollback", "rollback")


@pytest.mark.parametrize("last", [False, True])
def test_a_fixed_horizon_test_decides_in_the_last_step_only(last: bool) -> None:
    design = parse_design({"goal": "click_rate", "method": "delta", "ramp": RAMP})
    share = 0.5 if last else 0.2
    analysis = _analysis(share, "inconclusive", last)
    decision = decide(design, analysis, NOW - timedelta(hours=1), NOW)
    if last:
        assert decision.action == "rollback" and "fixed-horizon" in decision.reason
    else:
        assert decision.action == "ramp"


def test_analyses_without_a_regime_decide_as_before() -> None:
    design = parse_design({"goal": "click_rate", "ramp": RAMP})
    analysis = replace(_analysis(0.05, "better", False), regime=None)
    assert decide(design, analysis, NOW, NOW).action == "promote"
