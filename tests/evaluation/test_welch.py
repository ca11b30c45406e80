"""Welch's test against GrowthBook gbstats 0.8.0's test vectors and scipy.stats.ttest_ind."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from champion.errors import InvalidInput
from champion.evaluation.stattests import Summary, WelchTest

# gbstats tests/frequentist/test_tests.py
A = Summary(n=3407, sum=1396.87, sum_squares=52377.9767)
B = Summary(n=3461, sum=2422.7, sum_squares=134698.29)


def test_relative_effect_matches_gbstats() -> None:
    result = WelchTest(relative=True).run(A, B, alpha=0.05)
    assert result.effect == pytest.approx(0.70732, abs=5e-6)
    assert result.ci is not None
    assert result.ci[0] == pytest.approx(-0.03526, abs=5e-6)
    assert result.ci[1] == pytest.approx(1.44989, abs=5e-6)
    assert result.p_value == pytest.approx(0.06191, abs=5e-6)
    assert result.relative


def test_absolute_effect_matches_gbstats() -> None:
    result = WelchTest().run(A, B, alpha=0.05)
    assert result.ci is not None
    assert result.ci[0] == pytest.approx(0.04538, abs=5e-6)
    assert result.ci[1] == pytest.approx(0.53462, abs=5e-6)
    assert result.p_value == pytest.approx(0.02016, abs=5e-6)


@pytest.mark.parametrize("seed", range(5))
def test_agrees_with_scipy_ttest_ind_on_raw_values(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.lognormal(1.0, 0.8, 300)
    b = rng.lognormal(1.1, 1.0, 180)
    expected = stats.ttest_ind(b, a, equal_var=False)
    result = WelchTest().run(Summary.from_values(a), Summary.from_values(b))
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-9)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    assert result.df == pytest.approx(expected.df, rel=1e-9)
    low, high = expected.confidence_interval(0.95)
    assert result.ci == pytest.approx((low, high), rel=1e-9)


def test_normal_distribution_is_a_z_test() -> None:
    result = WelchTest(distribution="normal").run(A, B)
    assert result.df is None
    assert result.p_value == pytest.approx(2 * stats.norm.sf(abs(result.statistic)))


def test_identical_constant_arms_give_p_one() -> None:
    arm = Summary.from_values([2.0, 2.0, 2.0])
    result = WelchTest().run(arm, arm)
    assert (result.effect, result.p_value) == (0.0, 1.0)


@pytest.mark.parametrize("alpha", [0.0, 1.0, 1.5, -0.1, float("nan"), "0.05", True])
def test_alpha_outside_zero_one_is_rejected(alpha: object) -> None:
    message = (
        r"The 'alpha' parameter of WelchTest must be a float in the range \(0, 1\)\. "
        rf"Got {alpha!r} instead\."
    )
    with pytest.raises(InvalidInput, match=message):
        WelchTest().run(A, B, alpha=alpha)  # type: ignore[arg-type]  # deliberately invalid


def test_unknown_distribution_is_rejected() -> None:
    with pytest.raises(InvalidInput, match=r"'distribution' parameter of WelchTest .* 'z'"):
        WelchTest(distribution="z")


def test_arms_must_be_summaries_of_two_or_more() -> None:
    with pytest.raises(InvalidInput, match="'a' argument of WelchTest"):
        WelchTest().run(Summary(1, 1.0, 1.0), B)
    with pytest.raises(InvalidInput, match="'b' argument of WelchTest"):
        WelchTest().run(A, [1.0, 2.0])  # type: ignore[arg-type]  # deliberately invalid


def test_relative_effect_needs_a_non_zero_baseline() -> None:
    zero = Summary.from_values([-1.0, 1.0])
    with pytest.raises(InvalidInput, match="non-zero mean"):
        WelchTest(relative=True).run(zero, B)
