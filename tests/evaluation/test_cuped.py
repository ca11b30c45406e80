from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from champion.errors import InvalidInput
from champion.evaluation.stattests import CupedTest, cuped_theta

RHO = 0.7


def _arm(rng: np.random.Generator, n: int, shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    x = rng.normal(0.0, 1.0, n)
    y = shift + RHO * x + np.sqrt(1 - RHO**2) * rng.normal(0.0, 1.0, n)
    return y, x


@pytest.mark.slow(seconds=8)
def test_variance_reduction_and_coverage_under_a_a() -> None:
    """With corr 0.7 CUPED keeps 1 - 0.49 = 0.51 of the variance, and 95% intervals cover."""
    rng = np.random.default_rng(2024)
    test = CupedTest()
    plain, adjusted, covered = [], [], 0
    reps = 6000
    for _ in range(reps):
        (y_a, x_a), (y_b, x_b) = _arm(rng, 500), _arm(rng, 500)
        plain.append(y_b.mean() - y_a.mean())
        result = test.run((y_a, x_a), (y_b, x_b))
        adjusted.append(result.effect)
        assert result.ci is not None
        covered += result.ci[0] <= 0.0 <= result.ci[1]
    ratio = float(np.var(adjusted) / np.var(plain))
    assert ratio == pytest.approx(0.51, abs=0.03)
    assert 0.94 <= covered / reps <= 0.96


def test_agrees_with_scipy_on_the_adjusted_values() -> None:
    rng = np.random.default_rng(3)
    (y_a, x_a), (y_b, x_b) = _arm(rng, 300), _arm(rng, 350, shift=0.2)
    x = np.concatenate([x_a, x_b])
    theta = cuped_theta(np.concatenate([y_a, y_b]), x)
    assert theta == pytest.approx(stats.linregress(x, np.concatenate([y_a, y_b])).slope)
    expected = stats.ttest_ind(
        y_b - theta * (x_b - x.mean()), y_a - theta * (x_a - x.mean()), equal_var=False
    )
    result = CupedTest().run((y_a, x_a), (y_b, x_b))
    assert result.statistic == pytest.approx(expected.statistic)
    assert result.p_value == pytest.approx(expected.pvalue)


def test_a_constant_covariate_changes_nothing() -> None:
    rng = np.random.default_rng(4)
    y_a, y_b = rng.normal(0, 1, 50), rng.normal(0, 1, 60)
    result = CupedTest().run((y_a, np.ones(50)), (y_b, np.ones(60)))
    assert result.p_value == pytest.approx(stats.ttest_ind(y_b, y_a, equal_var=False).pvalue)


def test_arms_are_validated() -> None:
    with pytest.raises(InvalidInput, match="'a' argument of CupedTest must be a pair"):
        CupedTest().run(np.ones(3), (np.ones(3), np.ones(3)))
    with pytest.raises(InvalidInput, match="same length"):
        CupedTest().run((np.ones(3), np.ones(4)), (np.ones(3), np.ones(3)))
    with pytest.raises(InvalidInput, match="'distribution' parameter of CupedTest"):
        CupedTest(distribution="cauchy")
