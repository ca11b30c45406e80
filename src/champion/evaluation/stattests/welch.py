"""Welch's t-test from summary statistics, with absolute or relative (delta-method) effects."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from champion.errors import InvalidInput
from champion.evaluation.stattests.base import ReferenceCase, StatResult
from champion.evaluation.stattests.summary import Moments, RatioSummary, Summary
from champion.validation import check_alpha, check_choice

__all__ = ["WelchTest", "check_moments", "compare_means", "mean_effect"]

DISTRIBUTIONS = ("normal", "t")


def mean_effect(
    a: tuple[float, float, int],
    b: tuple[float, float, int],
    *,
    relative: bool,
    method: str,
) -> tuple[float, float]:
    """The effect of ``b`` over ``a`` and its variance, from ``(mean, variance, n)``.

    The relative effect's variance comes from the delta method on the ratio of two
    independent means, ``var_b / (n_b mean_a²) + var_a mean_b² / (n_a mean_a⁴)``, as in
    gbstats.
    """
    mean_a, var_a, n_a = a
    mean_b, var_b, n_b = b
    if not relative:
        return mean_b - mean_a, var_a / n_a + var_b / n_b
    if mean_a == 0:
        raise InvalidInput(
            f"A relative effect needs a non-zero mean in arm 'a' for {method}. "
            f"Got {mean_a!r} instead; use the absolute effect."
        )
    variance = var_b / (n_b * mean_a**2) + var_a * mean_b**2 / (n_a * mean_a**4)
    return mean_b / mean_a - 1.0, variance


def compare_means(
    a: tuple[float, float, int],
    b: tuple[float, float, int],
    *,
    relative: bool,
    alpha: float,
    distribution: str,
    method: str,
) -> StatResult:
    """Test ``mean_b - mean_a`` (or ``mean_b / mean_a - 1``) from ``(mean, variance, n)``.

    The effect and its variance come from :func:`mean_effect`; with ``distribution="t"``
    both effects use Welch-Satterthwaite degrees of freedom, as gbstats does.
    """
    from scipy import stats

    _, var_a, n_a = a
    _, var_b, n_b = b
    se2_a, se2_b = var_a / n_a, var_b / n_b
    effect, variance = mean_effect(a, b, relative=relative, method=method)
    df: float | None = None
    if distribution == "t":
        denominator = se2_a**2 / (n_a - 1) + se2_b**2 / (n_b - 1)
        df = (se2_a + se2_b) ** 2 / denominator if denominator > 0 else math.inf
        reference: Any = stats.t(df)
    else:
        reference = stats.norm()
    se = math.sqrt(variance)
    if se == 0.0:
        statistic = 0.0 if effect == 0 else math.copysign(math.inf, effect)
        p_value = 1.0 if effect == 0 else 0.0
    else:
        statistic = effect / se
        p_value = float(min(1.0, 2.0 * reference.sf(abs(statistic))))
    half = float(reference.ppf(1.0 - alpha / 2.0)) * se
    return StatResult(
        statistic=float(statistic),
        p_value=p_value,
        ci=(effect - half, effect + half),
        effect=effect,
        method=method,
        alpha=alpha,
        relative=relative,
        df=df,
    )


def check_moments(owner: str, name: str, value: Any) -> Moments:
    """A Summary or RatioSummary of at least 2 units with a defined mean."""
    if not isinstance(value, Summary | RatioSummary) or value.n < 2 or math.isnan(value.mean):
        raise InvalidInput(
            f"The {name!r} argument of {owner} must be a Summary (or RatioSummary) with n of "
            f"at least 2. Got {value!r} instead."
        )
    return value


class WelchTest:
    """Welch's unequal-variance t-test on two arms given as :class:`Summary` values.

    A :class:`RatioSummary` arm is compared through its delta-method variance.

    Parameters
    ----------
    relative
        Test and report ``mean_b / mean_a - 1`` (delta method) instead of ``mean_b - mean_a``.
    distribution
        ``"t"`` (Welch-Satterthwaite degrees of freedom) or ``"normal"`` (a z-test, as
        large-sample dashboards use).

    The absolute test agrees with ``scipy.stats.ttest_ind(a, b, equal_var=False)`` on the raw
    values (with the sign of ``b - a``); both agree with GrowthBook gbstats 0.8.0
    ``TwoSidedTTest``.

    References
    ----------
    Welch, B. L. (1947). The generalization of 'Student's' problem when several different
    population variances are involved. Biometrika 34, 28-35.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(7)
    >>> a = Summary.from_values(rng.normal(10.0, 2.0, 500))
    >>> b = Summary.from_values(rng.normal(10.4, 2.0, 500))
    >>> result = WelchTest().run(a, b, alpha=0.05)
    >>> round(result.effect, 4), float(f"{result.p_value:.2g}")
    (0.6242, 1.9e-07)
    """

    name: ClassVar[str] = "welch"

    def __init__(self, relative: bool = False, distribution: str = "t") -> None:
        self.relative = relative
        self.distribution = check_choice("WelchTest", "distribution", distribution, DISTRIBUTIONS)

    def run(self, a: Moments, b: Moments, *, alpha: float = 0.05) -> StatResult:
        """Compare the means of ``a`` and ``b``; see the class docstring."""
        alpha = check_alpha("WelchTest", alpha)
        a, b = check_moments("WelchTest", "a", a), check_moments("WelchTest", "b", b)
        return compare_means(
            (a.mean, a.variance, a.n),
            (b.mean, b.variance, b.n),
            relative=self.relative,
            alpha=alpha,
            distribution=self.distribution,
            method="welch",
        )

    def example_arms(self, seed: int) -> tuple[Summary, Summary]:
        rng = np.random.default_rng(seed)
        return (
            Summary.from_values(rng.normal(10.0, 3.0, 400)),
            Summary.from_values(rng.normal(10.5, 4.0, 300)),
        )

    def reference_case(self, seed: int) -> ReferenceCase | None:
        """SciPy's Welch test on the raw values behind two arms (the absolute t test only)."""
        from scipy import stats

        if self.relative or self.distribution != "t":
            return None
        rng = np.random.default_rng(seed)
        a, b = rng.normal(10.0, 3.0, 400), rng.normal(10.5, 4.0, 300)
        scipy = stats.ttest_ind(b, a, equal_var=False)
        interval = scipy.confidence_interval(0.95)
        return ReferenceCase(
            Summary.from_values(a),
            Summary.from_values(b),
            "scipy.stats.ttest_ind(b, a, equal_var=False)",
            statistic=float(scipy.statistic),
            p_value=float(scipy.pvalue),
            ci=(float(interval.low), float(interval.high)),
        )
