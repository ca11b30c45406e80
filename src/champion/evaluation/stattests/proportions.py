"""Two-proportion z-test (or gbstats' t variant) on success counts."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from champion.errors import InvalidInput
from champion.evaluation.stattests.base import ReferenceCase, StatResult
from champion.evaluation.stattests.summary import Summary
from champion.evaluation.stattests.welch import DISTRIBUTIONS, compare_means
from champion.validation import check_alpha, check_choice

__all__ = ["ProportionsTest"]


def check_proportion(owner: str, name: str, value: object) -> Summary:
    """A Summary of 0/1 outcomes: ``sum == sum_squares`` and ``0 <= sum <= n``, ``n >= 2``."""
    if (
        not isinstance(value, Summary)
        or value.n < 2
        or value.sum != value.sum_squares
        or not 0 <= value.sum <= value.n
    ):
        raise InvalidInput(
            f"The {name!r} argument of {owner} must be a Summary of 0/1 outcomes with n of at "
            f"least 2, such as Summary.from_counts(successes, trials). Got {value!r} instead."
        )
    return value


class ProportionsTest:
    """Compare two conversion rates given as ``Summary.from_counts(successes, trials)``.

    Each arm's variance is the unpooled ``p (1 - p)``, so the statistic equals the z of the
    difference of means computed from the raw 0/1 arrays (with ``ddof=0``). The relative
    effect ``p_b / p_a - 1`` uses the delta method.

    Parameters
    ----------
    relative
        Test and report ``p_b / p_a - 1`` instead of ``p_b - p_a``.
    distribution
        ``"normal"`` (the two-proportion z-test) or ``"t"`` with Welch-Satterthwaite degrees
        of freedom, which is what GrowthBook gbstats 0.8.0 ``TwoSidedTTest`` does for
        ``ProportionStatistic`` and reproduces its p-values exactly.

    References
    ----------
    GrowthBook gbstats 0.8.0, ``gbstats/frequentist/tests.py``.

    Examples
    --------
    >>> a, b = Summary.from_counts(14, 28), Summary.from_counts(16, 30)
    >>> result = ProportionsTest(relative=True, distribution="t").run(a, b)
    >>> round(result.effect, 5), round(result.p_value, 5)
    (0.06667, 0.80707)
    """

    name: ClassVar[str] = "proportions"

    def __init__(self, relative: bool = False, distribution: str = "normal") -> None:
        self.relative = relative
        self.distribution = check_choice(
            "ProportionsTest", "distribution", distribution, DISTRIBUTIONS
        )

    def run(self, a: Summary, b: Summary, *, alpha: float = 0.05) -> StatResult:
        """Compare the success rates of ``a`` and ``b``; see the class docstring."""
        alpha = check_alpha("ProportionsTest", alpha)
        a = check_proportion("ProportionsTest", "a", a)
        b = check_proportion("ProportionsTest", "b", b)
        return compare_means(
            (a.mean, a.proportion_variance, a.n),
            (b.mean, b.proportion_variance, b.n),
            relative=self.relative,
            alpha=alpha,
            distribution=self.distribution,
            method="proportions",
        )

    def example_arms(self, seed: int) -> tuple[Summary, Summary]:
        rng = np.random.default_rng(seed)
        n_a, n_b = 1000, 1100
        return (
            Summary.from_counts(int(rng.binomial(n_a, 0.10)), n_a),
            Summary.from_counts(int(rng.binomial(n_b, 0.12)), n_b),
        )

    def reference_case(self, seed: int) -> ReferenceCase | None:
        """The unpooled Wald z of ``scipy.stats.barnard_exact`` and its normal two-sided tail.

        Only the z-test of ``p_b - p_a`` has the counterpart (Barnard's own p-value is exact,
        not the z-test's); the arms are small, as the exact p-value it also computes is slow.
        """
        from scipy import stats

        if self.relative or self.distribution != "normal":
            return None
        rng = np.random.default_rng(seed)
        n_a, n_b = 120, 140
        wins_a, wins_b = int(rng.binomial(n_a, 0.30)), int(rng.binomial(n_b, 0.42))
        # Columns are the samples, b first: the statistic is that of p_b - p_a.
        table = [[wins_b, wins_a], [n_b - wins_b, n_a - wins_a]]
        wald = float(stats.barnard_exact(table, pooled=False).statistic)
        return ReferenceCase(
            Summary.from_counts(wins_a, n_a),
            Summary.from_counts(wins_b, n_b),
            "scipy.stats.barnard_exact(pooled=False).statistic with scipy.stats.norm tails",
            statistic=wald,
            p_value=float(2.0 * stats.norm.sf(abs(wald))),
        )
