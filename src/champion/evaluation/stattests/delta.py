"""Ratio metrics with the user as the unit (CTR = clicks / impressions) by the delta method."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from champion.errors import InvalidInput
from champion.evaluation.stattests.base import ReferenceCase, StatResult
from champion.evaluation.stattests.summary import RatioSummary
from champion.validation import check_alpha, check_sample

__all__ = ["DeltaMethodTest", "ratio_and_variance"]

Pair = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]


def ratio_and_variance(
    numerator: npt.NDArray[np.float64], denominator: npt.NDArray[np.float64]
) -> tuple[float, float]:
    """``sum(x) / sum(y)`` and its delta-method variance over ``n`` independent units.

    ``Var(x̄ / ȳ) ≈ (s_x² / ȳ² - 2 x̄ s_xy / ȳ³ + x̄² s_y² / ȳ⁴) / n`` with sample (``n - 1``)
    moments, so with ``y ≡ 1`` it is the usual ``s_x² / n``.
    """
    summary = RatioSummary.from_values(numerator, denominator)
    return summary.mean, summary.variance / summary.n


def _arm(name: str, value: Any) -> RatioSummary:
    if isinstance(value, RatioSummary):
        if value.n < 2 or value.sum_y <= 0:
            raise InvalidInput(
                f"The {name!r} argument of DeltaMethodTest must be a RatioSummary of at least 2 "
                f"units with a positive denominator total. Got {value!r} instead."
            )
        return value
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise InvalidInput(
            f"The {name!r} argument of DeltaMethodTest must be a pair (numerators, "
            f"denominators) of per-unit arrays or a RatioSummary. Got {value!r} instead."
        )
    x = check_sample("DeltaMethodTest", f"{name}[0]", value[0])
    y = check_sample("DeltaMethodTest", f"{name}[1]", value[1])
    if x.size != y.size or y.sum() <= 0 or np.any(y < 0):
        raise InvalidInput(
            f"The {name!r} argument of DeltaMethodTest must hold numerators and non-negative "
            f"denominators of the same length with a positive total. Got {x.size} numerators, "
            f"{y.size} denominators summing to {float(y.sum())!r} instead."
        )
    return RatioSummary.from_values(x, y)


class DeltaMethodTest:
    """Compare a ratio metric such as CTR when the randomisation unit is the user.

    Each arm is a pair ``(numerators, denominators)`` with one entry per user, e.g. clicks
    and impressions, or the :class:`RatioSummary` of those arrays (what SQL returns).
    Treating impressions as independent would understate the variance, since one user's
    impressions are correlated; the delta method keeps the user as the unit. The z-test is
    on ``R_b - R_a`` with ``R = sum(x) / sum(y)``.

    References
    ----------
    Deng, Knoblich and Lu (2018). Applying the Delta Method in Metric Analytics: A Practical
    Guide with Novel Ideas. KDD. With every denominator 1 the test is the large-sample
    ``scipy.stats.ttest_ind(equal_var=False)``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(3)
    >>> views_a, views_b = rng.poisson(10, 2000) + 1, rng.poisson(10, 2000) + 1
    >>> a = (rng.binomial(views_a, 0.10), views_a)
    >>> b = (rng.binomial(views_b, 0.11), views_b)
    >>> result = DeltaMethodTest().run(a, b)
    >>> round(result.effect, 4), round(result.p_value, 4)
    (0.0088, 0.0025)
    """

    name: ClassVar[str] = "delta"

    def run(self, a: Any, b: Any, *, alpha: float = 0.05) -> StatResult:
        """Compare the ratio metric of ``a`` and ``b``; see the class docstring."""
        from scipy import stats

        alpha = check_alpha("DeltaMethodTest", alpha)
        arm_a, arm_b = _arm("a", a), _arm("b", b)
        effect = arm_b.mean - arm_a.mean
        se = math.sqrt(arm_a.variance / arm_a.n + arm_b.variance / arm_b.n)
        if se == 0.0:
            statistic, p_value = (
                (0.0, 1.0) if effect == 0 else (math.copysign(math.inf, effect), 0.0)
            )
        else:
            statistic = effect / se
            p_value = float(2.0 * stats.norm.sf(abs(statistic)))
        half = float(stats.norm.ppf(1.0 - alpha / 2.0)) * se
        return StatResult(
            statistic=statistic,
            p_value=p_value,
            ci=(effect - half, effect + half),
            effect=effect,
            method="delta",
            alpha=alpha,
        )

    def example_arms(self, seed: int) -> tuple[Pair, Pair]:
        rng = np.random.default_rng(seed)
        views_a, views_b = rng.poisson(8, 500) + 1, rng.poisson(8, 600) + 1
        return (
            (rng.binomial(views_a, 0.10), views_a),
            (rng.binomial(views_b, 0.12), views_b),
        )

    def reference_case(self, seed: int) -> ReferenceCase:
        """With every denominator 1 the statistic is SciPy's Welch t (the p-value its normal
        two-sided tail: the delta method is a large-sample z-test)."""
        from scipy import stats

        rng = np.random.default_rng(seed)
        a, b = rng.poisson(3.0, 500).astype(np.float64), rng.poisson(3.3, 600).astype(np.float64)
        welch = float(stats.ttest_ind(b, a, equal_var=False).statistic)
        return ReferenceCase(
            (a, np.ones_like(a)),
            (b, np.ones_like(b)),
            "scipy.stats.ttest_ind(b, a, equal_var=False).statistic with scipy.stats.norm tails",
            statistic=welch,
            p_value=float(2.0 * stats.norm.sf(abs(welch))),
        )
