"""Guardrails and goals keep their error rates whenever anyone looks.

The Monte Carlo tests run the server's own decision path (``compare``, the comparison step of
``analyse``; the horizon kept by ``Experiments``; ``decide``) on simulated per-unit data,
looking every 10 units per arm as a busy controller would.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from champion.evaluation.analysis import Analysis
from champion.evaluation.arms import ExperimentArms
from champion.evaluation.decision import Decision, decide, describe_result
from champion.evaluation.design import ExperimentDesign, parse_design
from champion.evaluation.health import HealthCheck
from champion.evaluation.horizon import Horizon, fix_horizon, horizon_reached
from champion.evaluation.online import ArmMetrics
from champion.evaluation.stattests import RatioSummary, SequentialTest
from champion.evaluation.verdicts import MetricResult, compare
from champion.registry.entities import VersionKey

NOW = datetime(2026, 3, 1, tzinfo=UTC)
Array = npt.NDArray[np.float64]


def _arms(names: Sequence[str]) -> ExperimentArms:
    return ExperimentArms(
        "ab",
        names[0],
        tuple(names[1:]),
        {n: f"m@{n}" for n in names},
        {n: VersionKey("m", i + 1) for i, n in enumerate(names)},
        expected_shares={n: 1 / len(names) for n in names},
    )


def _metrics(arm: str, summaries: dict[str, RatioSummary]) -> ArmMetrics:
    units = next(iter(summaries.values())).n
    return ArmMetrics(arm, arm, units, {}, summaries, {}, {})


def _analysis(
    design: ExperimentDesign, arms: ExperimentArms, metrics: dict[str, ArmMetrics]
) -> Analysis:
    health = [HealthCheck("srm", "ok", ""), HealthCheck("coverage", "ok", "")]
    step = {arm: (m.units, m.units, 0) for arm, m in metrics.items()}
    return Analysis(arms, metrics, compare(design, arms, metrics), health, step)


class _Cumulative:
    """Per-unit values of one metric with one request per unit, summed up to any look."""

    def __init__(self, values: Array) -> None:
        self.x = np.cumsum(values)
        self.xx = np.cumsum(values**2)

    def at(self, n: int) -> RatioSummary:
        total = float(self.x[n - 1])
        return RatioSummary(n, total, float(n), float(self.xx[n - 1]), float(n), total)


def _summary(values: Array) -> RatioSummary:
    return _Cumulative(values).at(values.size)


def _run(
    design: ExperimentDesign,
    arms: ExperimentArms,
    data: dict[str, dict[str, Array]],
    looks: range,
) -> list[Decision]:
    """Every look's decision, keeping a fixed-horizon goal's one evaluation as the server
    does; stops at the first promotion or rollback."""
    cumulative = {arm: {m: _Cumulative(v) for m, v in by.items()} for arm, by in data.items()}
    horizon: Horizon | None = None
    found = []
    for n in looks:
        metrics = {
            arm: _metrics(arm, {m: c.at(n) for m, c in by.items()})
            for arm, by in cumulative.items()
        }
        analysis = _analysis(design, arms, metrics)
        if horizon is None and horizon_reached(design, analysis):
            horizon = fix_horizon(design, analysis, NOW)
        if horizon is not None:
            analysis = horizon.applied(analysis)
        decision = decide(design, analysis, NOW, NOW, horizon)
        found.append(decision)
        if decision.action in {"promote", "rollback"}:
            break
    return found


def _rate(hits: int, reps: int) -> tuple[float, float]:
    rate = hits / reps
    return rate, math.sqrt(max(rate * (1 - rate), 1 / reps) / reps)


@pytest.mark.parametrize("method", ["delta", "bayesian"])
def test_a_guardrail_at_its_tolerance_rolls_back_at_most_alpha_however_often_one_looks(
    method: str,
) -> None:
    """Latency exactly 5 ms (its tolerance) slower, looked at every 10 units up to 300 per
    arm: none of 300 runs rolls back (rate 0.0, s.e. under 0.004; the always-valid interval is
    conservative), against 0.137 when the fixed-horizon test was repeated at every look."""
    design = parse_design(
        {
            "goal": "click_rate",
            "method": method,
            "min_sample": 100_000,
            "guardrails": [{"metric": "latency_ms", "tolerance": 5.0}],
        }
    )
    arms, rng, reps, rollbacks = _arms(["a", "b"]), np.random.default_rng(19), 300, 0
    for _ in range(reps):
        # The goal has no data: only the guardrail can decide.
        data = {
            arm: {"latency_ms": rng.normal(50.0 + shift, 20.0, 300)}
            for arm, shift in (("a", 0.0), ("b", 5.0))
        }
        decisions = _run(design, arms, data, range(10, 301, 10))
        rollbacks += decisions[-1].action == "rollback"
    rate, se = _rate(rollbacks, reps)
    assert rate <= design.alpha + 2 * se, rate


@pytest.mark.parametrize("method", ["delta", "sequential"])
def test_an_a_a_test_with_three_challengers_promotes_some_arm_at_most_alpha(method: str) -> None:
    """No arm differs; the goal is corrected over the three challengers (Holm). Looking every
    10 units up to 300 per arm, 400 runs promote some arm at rate 0.0275 (s.e. 0.008) with
    ``delta`` (decided once at 100 units per arm; 0.0775 without the correction) and 0.0
    (s.e. under 0.003) with ``sequential``."""
    design = parse_design(
        {"goal": "click_rate", "method": method, "min_sample": 100, "guardrails": []}
    )
    names = ["a", "b", "c", "d"]
    arms, rng, reps, promotions = _arms(names), np.random.default_rng(23), 400, 0
    for _ in range(reps):
        data = {arm: {"click_rate": rng.binomial(1, 0.2, 300).astype(np.float64)} for arm in names}
        decisions = _run(design, arms, data, range(10, 301, 10))
        promotions += decisions[-1].action == "promote"
    rate, se = _rate(promotions, reps)
    assert rate <= design.alpha + 2 * se, rate


def test_a_fixed_horizon_goal_is_decided_once_and_later_looks_show_that_result() -> None:
    design = parse_design({"goal": "click_rate", "method": "delta", "min_sample": 100})
    arms = _arms(["champion", "challenger"])
    rng = np.random.default_rng(3)
    clicks = {
        "champion": rng.binomial(1, 0.2, 400).astype(np.float64),
        "challenger": rng.binomial(1, 0.2, 400).astype(np.float64),
    }
    clicks["challenger"][100:] = 1.0  # after the horizon the challenger would "win"
    latency = {arm: rng.normal(50, 1, 400) for arm in clicks}
    data = {arm: {"click_rate": clicks[arm], "latency_ms": latency[arm]} for arm in clicks}
    decisions = _run(design, arms, data, range(100, 401, 100))
    assert len(decisions) == 1 and decisions[0].action == "rollback"
    assert "decided at 100 champion and 100 challenger units" in decisions[0].reason
    metrics = {
        arm: _metrics(arm, {m: _Cumulative(v).at(400) for m, v in by.items()})
        for arm, by in data.items()
    }
    at_400 = _analysis(design, arms, metrics)
    goal = at_400.goal("challenger")
    assert goal is not None and goal.verdict == "better"  # re-testing would promote
    early = {
        arm: _metrics(arm, {m: _Cumulative(v).at(100) for m, v in by.items()})
        for arm, by in data.items()
    }
    horizon = fix_horizon(design, _analysis(design, arms, early), datetime(2026, 2, 20, 9, 30))
    again = Horizon.from_json(horizon.to_json())
    later = decide(design, again.applied(at_400), NOW, NOW, again)
    assert later.action == "rollback"
    assert "decided at 100 champion and 100 challenger units on 2026-02-20 09:30 UTC" in (
        later.reason
    )
    assert again.results == horizon.results


def _latency_arms(control: Array, challenger: Array, clicks: tuple[float, float]) -> Analysis:
    design = parse_design({"goal": "click_rate", "min_sample": 20})
    arms = _arms(["champion", "challenger"])
    n = control.size
    metrics = {
        "champion": _metrics(
            "champion",
            {
                "latency_ms": _summary(control),
                "click_rate": _summary(np.r_[np.ones(int(clicks[0] * n)), np.zeros(n)][:n]),
                "error_rate": _summary(np.zeros(n)),
            },
        ),
        "challenger": _metrics(
            "challenger",
            {
                "latency_ms": _summary(challenger),
                "click_rate": _summary(np.r_[np.ones(int(clicks[1] * n)), np.zeros(n)][:n]),
                "error_rate": _summary(np.zeros(n)),
            },
        ),
    }
    return _analysis(design, arms, metrics)


def test_a_thin_guardrail_holds_a_win_instead_of_waving_it_through() -> None:
    """The demo's attrition/3: 52 % slower against a 25 % tolerance, on few units."""
    rng = np.random.default_rng(8)
    control, challenger = rng.normal(57.8, 25.0, 40), rng.normal(87.6, 25.0, 40)
    analysis = _latency_arms(control, challenger, (0.05, 0.95))
    latency = next(r for r in analysis.results if r.metric == "latency_ms")
    assert latency.verdict == "inconclusive"
    decision = decide(parse_design({"goal": "click_rate", "min_sample": 20}), analysis, NOW, NOW)
    assert (decision.decision, decision.action) == ("continue", "hold")
    assert "waiting for evidence that latency_ms is within +25 %: latency_ms " in decision.reason
    assert "Significant win for m/2 on the goal" in decision.reason


def test_a_guardrail_shown_within_its_tolerance_lets_the_win_promote() -> None:
    rng = np.random.default_rng(9)
    control, challenger = rng.normal(57.8, 5.0, 3000), rng.normal(57.8, 5.0, 3000)
    analysis = _latency_arms(control, challenger, (0.1, 0.2))
    assert [r.verdict for r in analysis.results] == ["better", "ok", "ok"]
    decision = decide(parse_design({"goal": "click_rate", "min_sample": 20}), analysis, NOW, NOW)
    assert decision.action == "promote" and decision.reason.endswith("guardrails hold.")


def test_a_guardrail_verdict_reads_the_always_valid_interval_against_the_tolerance() -> None:
    """``ok`` exactly when the harmful end of the interval is within the tolerance,
    ``regressed`` when the whole interval is beyond it (one guardrail: no correction)."""
    rng = np.random.default_rng(4)
    tuning = 5000.0
    for shift in (-3.0, 0.0, 4.0, 8.0, 12.0, 20.0):
        control, challenger = rng.normal(50, 20, 400), rng.normal(50 + shift, 20, 400)
        design = parse_design(
            {
                "goal": "click_rate",
                "guardrails": [{"metric": "latency_ms", "tolerance": 6.0}],
                "sequential_tuning": tuning,
            }
        )
        metrics = {
            "champion": _metrics("champion", {"latency_ms": _summary(control)}),
            "challenger": _metrics("challenger", {"latency_ms": _summary(challenger)}),
        }
        [_, result] = compare(design, _arms(["champion", "challenger"]), metrics)
        ci = SequentialTest(tuning).run(_summary(control), _summary(challenger)).ci
        assert ci is not None and result.result is not None and result.result.ci == ci
        expected = "ok" if ci[1] < 6.0 else "regressed" if ci[0] > 6.0 else "inconclusive"
        assert result.verdict == expected, (shift, ci)


def test_bayesian_verdicts_use_the_chance_to_win_threshold() -> None:
    """0.95 by default (a 90 % credible interval), configurable."""
    arms = _arms(["a", "b"])
    metrics = {
        "a": _metrics("a", {"click_rate": _summary(np.r_[np.ones(100), np.zeros(900)])}),
        "b": _metrics("b", {"click_rate": _summary(np.r_[np.ones(130), np.zeros(870)])}),
    }
    verdicts: dict[float, MetricResult] = {}
    for threshold in (0.95, 0.99):
        design = parse_design(
            {
                "goal": "click_rate",
                "method": "bayesian",
                "chance_to_win": threshold,
                "guardrails": [],
            }
        )
        [verdicts[threshold]] = compare(design, arms, metrics)
    stat = verdicts[0.95].result
    assert stat is not None and stat.chance_to_win is not None
    assert 0.95 < stat.chance_to_win < 0.99
    assert (verdicts[0.95].verdict, verdicts[0.99].verdict) == ("better", "inconclusive")
    assert "90 % CI" in describe_result(verdicts[0.95])
    assert f"chance to win {stat.chance_to_win:.3g}" in describe_result(verdicts[0.95])


def test_tiny_p_values_print_as_a_bound_never_zero() -> None:
    metrics = {
        "a": _metrics("a", {"click_rate": _summary(np.r_[np.ones(100), np.zeros(900)])}),
        "b": _metrics("b", {"click_rate": _summary(np.r_[np.ones(600), np.zeros(400)])}),
    }
    design = parse_design({"goal": "click_rate", "method": "delta", "guardrails": []})
    [result] = compare(design, _arms(["a", "b"]), metrics)
    assert result.result is not None and result.result.p_value < 1e-4
    assert "delta p < 0.0001" in describe_result(result)
    assert "p = 0" not in describe_result(result)


def test_the_goal_is_corrected_over_challenger_arms() -> None:
    """Holm over three arms, as statsmodels' ``multipletests(method="holm")``."""
    rng = np.random.default_rng(12)
    data = {
        arm: rng.binomial(1, p, 500).astype(np.float64)
        for arm, p in (("a", 0.2), ("b", 0.26), ("c", 0.2), ("d", 0.21))
    }
    metrics = {arm: _metrics(arm, {"click_rate": _summary(v)}) for arm, v in data.items()}
    found: dict[str, list[MetricResult]] = {}
    for correction in ("holm", "none"):
        design = parse_design(
            {"goal": "click_rate", "method": "delta", "guardrails": [], "correction": correction}
        )
        found[correction] = compare(design, _arms(list(data)), metrics)
    raw = [r.result.p_value for r in found["none"] if r.result is not None]
    order = np.argsort(raw)
    expected = np.empty(3)
    expected[order] = np.minimum(
        np.maximum.accumulate(np.asarray(raw)[order] * np.array([3, 2, 1])), 1.0
    )
    assert [r.p_adjusted for r in found["holm"]] == pytest.approx(list(expected))
    assert [r.p_adjusted for r in found["none"]] == pytest.approx(raw)


def _body(result: Any) -> dict[str, Any]:
    body: dict[str, Any] = result.to_json()
    return body


def test_a_guardrail_reports_both_tests_in_its_json() -> None:
    rng = np.random.default_rng(8)
    analysis = _latency_arms(rng.normal(57.8, 25.0, 40), rng.normal(87.6, 25.0, 40), (0.1, 0.1))
    latency = _body(next(r for r in analysis.results if r.metric == "latency_ms"))
    assert latency["verdict"] == "inconclusive" and latency["relative_tolerance"] == 0.25
    assert latency["p_non_inferior"] == 1.0 and 0 < latency["p_adjusted"] <= 1
