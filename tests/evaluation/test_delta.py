from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from champion.errors import InvalidInput
from champion.evaluation.stattests import (
    DeltaMethodTest,
    RatioSummary,
    SequentialTest,
    Summary,
    WelchTest,
)


def test_unit_denominators_reduce_to_the_welch_z_test() -> None:
    rng = np.random.default_rng(1)
    x_a, x_b = rng.normal(1.0, 1.0, 400), rng.normal(1.2, 1.5, 500)
    delta = DeltaMethodTest().run((x_a, np.ones(400)), (x_b, np.ones(500)))
    welch = WelchTest(distribution="normal").run(Summary.from_values(x_a), Summary.from_values(x_b))
    assert delta.statistic == pytest.approx(welch.statistic)
    assert delta.ci == pytest.approx(welch.ci)
    expected = stats.ttest_ind(x_b, x_a, equal_var=False)
    assert delta.statistic == pytest.approx(expected.statistic)


def test_effect_is_the_difference_of_pooled_ratios() -> None:
    a = (np.array([1.0, 0.0, 3.0]), np.array([10.0, 5.0, 15.0]))
    b = (np.array([2.0, 2.0, 1.0]), np.array([10.0, 10.0, 5.0]))
    assert DeltaMethodTest().run(a, b).effect == pytest.approx(5 / 25 - 4 / 30)


def test_interval_covers_under_a_clustered_a_a_test() -> None:
    """Users differ in their own CTR, so impressions are correlated within a user.

    The delta method keeps the user as the unit and its 95% interval covers 0 about 95% of
    the time.
    """
    rng = np.random.default_rng(12)
    covered = 0
    for _ in range(400):
        arms = []
        for _ in range(2):
            views = rng.poisson(20, 300) + 1
            ctr = rng.beta(2, 18, 300)
            arms.append((rng.binomial(views, ctr), views))
        result = DeltaMethodTest().run(arms[0], arms[1])
        assert result.ci is not None
        covered += result.ci[0] <= 0 <= result.ci[1]
    assert 0.92 <= covered / 400 <= 0.98


def test_arms_are_validated() -> None:
    with pytest.raises(InvalidInput, match="'a' argument of DeltaMethodTest must be a pair"):
        DeltaMethodTest().run([1, 2, 3], ([1, 2], [1, 1]))
    with pytest.raises(InvalidInput, match="same length"):
        DeltaMethodTest().run(([1, 2], [1, 1, 1]), ([1, 2], [1, 1]))
    with pytest.raises(InvalidInput, match=r"'b\[0\]' argument of DeltaMethodTest"):
        DeltaMethodTest().run(([1, 2], [1, 1]), ([1, float("nan")], [1, 1]))


def test_a_ratio_summary_from_sql_gives_the_same_result_as_the_arrays() -> None:
    a, b = DeltaMethodTest().example_arms(2)
    from_arrays = DeltaMethodTest().run(a, b)
    from_sums = DeltaMethodTest().run(RatioSummary.from_values(*a), RatioSummary.from_values(*b))
    assert from_sums.effect == pytest.approx(from_arrays.effect)
    assert from_sums.ci == pytest.approx(from_arrays.ci)
    assert from_sums.p_value == pytest.approx(from_arrays.p_value)
    with pytest.raises(InvalidInput, match="RatioSummary of at least 2 units"):
        DeltaMethodTest().run(RatioSummary(1, 1.0, 1.0, 1.0, 1.0, 1.0), from_sums_arm(b))


def from_sums_arm(arm: tuple[np.ndarray, np.ndarray]) -> RatioSummary:
    return RatioSummary.from_values(*arm)


def test_welch_and_the_sequential_test_take_ratio_summaries() -> None:
    """A ratio arm is compared through its delta-method variance, by any mean test."""
    a, b = DeltaMethodTest().example_arms(3)
    ra, rb = RatioSummary.from_values(*a), RatioSummary.from_values(*b)
    delta = DeltaMethodTest().run(ra, rb)
    welch = WelchTest(distribution="normal").run(ra, rb)
    assert welch.statistic == pytest.approx(delta.statistic)
    sequential = SequentialTest().run(ra, rb)
    assert sequential.effect == pytest.approx(delta.effect)
    assert sequential.p_value > delta.p_value
