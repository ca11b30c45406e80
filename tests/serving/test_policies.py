"""Properties of the routing policies, checked with Hypothesis and against SciPy."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from champion.registry.entities import VersionKey
from champion.serving.assignment import bucket
from champion.serving.policies import AbPolicy, Assignment, BanditPolicy, CanaryPolicy

V1, V2, V3 = VersionKey("m", 1), VersionKey("m", 2), VersionKey("m", 3)


def _resolve(reference: str) -> VersionKey:
    return VersionKey("m", int(reference.split("/")[1]))


def _assign(unit: str, salt: str = "exp") -> Assignment:
    return Assignment(unit, bucket(salt, unit), False, {}, random.Random(unit))


def _canary(share: float) -> CanaryPolicy:
    return CanaryPolicy.build({"champion": "m/1", "challenger": "m/2", "share": share}, _resolve)


@given(
    st.text(min_size=1, max_size=20),
    st.floats(min_value=0, max_value=1),
    st.floats(min_value=0, max_value=1),
)
def test_ramping_a_canary_up_only_adds_units(unit: str, low: float, high: float) -> None:
    low, high = sorted((low, high))
    if _canary(low).route(_assign(unit)).arm == "challenger":
        assert _canary(high).route(_assign(unit)).arm == "challenger"


def test_canary_share_within_binomial_tolerance() -> None:
    policy = _canary(0.05)
    n = 20_000
    hits = sum(policy.route(_assign(f"user-{i}")).arm == "challenger" for i in range(n))
    assert stats.binomtest(hits, n, 0.05).pvalue > 0.001


def test_ab_split_matches_the_weights() -> None:
    policy = AbPolicy.build(
        {"arms": {"a": "m/1", "b": "m/2", "c": "m/3"}, "weights": {"a": 2, "b": 1, "c": 1}},
        _resolve,
    )
    counts = {"a": 0, "b": 0, "c": 0}
    for i in range(20_000):
        counts[policy.route(_assign(f"user-{i}")).arm] += 1
    result = stats.chisquare(list(counts.values()), [10_000, 5_000, 5_000])
    assert result.pvalue > 0.001


@given(st.text(min_size=1, max_size=20))
def test_the_same_unit_always_gets_the_same_arm(unit: str) -> None:
    policy = AbPolicy.build({"arms": {"a": "m/1", "b": "m/2"}}, _resolve)
    arms = {policy.route(_assign(unit)).arm for _ in range(3)}
    assert len(arms) == 1


def test_failing_arms_fall_back_to_the_control() -> None:
    route = _canary(1.0).route(_assign("u"))
    assert (route.calls, route.fallback) == ((V2,), V1)
    ab = AbPolicy.build({"arms": {"control": "m/1", "b": "m/2"}}, _resolve)
    assert {ab.route(_assign(f"u{i}")).fallback for i in range(200)} == {None, V1}


def test_bandit_probabilities_follow_the_posterior_and_respect_the_floor() -> None:
    bandit = BanditPolicy.build({"arms": {"a": "m/1", "b": "m/2"}, "floor": 0.1}, _resolve)
    assert abs(bandit.probabilities["a"] - 0.5) < 0.02
    winning = bandit.with_counts({"a": (80, 1000), "b": (120, 1000)})
    assert winning.probabilities["b"] > 0.85
    assert abs(winning.probabilities["a"] - 0.1) < 0.01  # the floor keeps the loser explored
    assert abs(sum(winning.probabilities.values()) - 1.0) < 1e-9


def test_bandit_logs_the_probability_its_choices_follow() -> None:
    bandit = BanditPolicy.build({"arms": {"a": "m/1", "b": "m/2", "c": "m/3"}}, _resolve)
    bandit = bandit.with_counts({"a": (10, 100), "b": (14, 100), "c": (12, 100)})
    n = 20_000
    counts = {"a": 0, "b": 0, "c": 0}
    for i in range(n):
        route = bandit.route(Assignment(f"u{i}", 0, False, {}, random.Random(i)))
        assert route.probability == bandit.probabilities[route.arm]
        counts[route.arm] += 1
    expected = [bandit.probabilities[a] * n for a in sorted(counts)]
    assert stats.chisquare([counts[a] for a in sorted(counts)], expected).pvalue > 0.001
