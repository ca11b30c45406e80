"""Sample-ratio mismatch: are the arms' unit counts consistent with the configured split?"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from champion.errors import InvalidInput
from champion.evaluation.stattests.base import ReferenceCase, StatResult
from champion.validation import check_alpha, check_float, check_int

__all__ = ["SrmTest"]


def _check_count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise InvalidInput(
            f"The {name!r} argument of SrmTest must be an int count of units of at least 0. "
            f"Got {value!r} instead."
        )
    return int(value)


class SrmTest:
    """Pearson's chi-square goodness of fit of the unit counts ``a`` and ``b`` to the split.

    A p-value under ``alpha`` (0.001 by default, as GrowthBook and Optimizely alert) means
    the assignment or the logging is broken and the experiment's other results are not to
    be trusted. Below ``min_units`` units in either arm the test gives no verdict
    (``enough_data`` is False) because the chi-square approximation needs expected counts of
    about 5 or more.

    ``effect`` is ``b``'s observed share minus its expected share; ``ci`` is the Wilson score
    interval of that difference.

    Parameters
    ----------
    expected_share
        The share of units the split sends to ``b``.
    min_units
        The fewest units per arm for a verdict.

    References
    ----------
    ``scipy.stats.chisquare``; Fabijan et al. (2019), "Diagnosing Sample Ratio Mismatch in
    Online Controlled Experiments", KDD.

    Examples
    --------
    >>> result = SrmTest().run(600, 400)
    >>> f"{result.p_value:.3g}", result.significant
    ('2.54e-10', True)
    >>> SrmTest().run(5, 3).significant is None
    True
    """

    name: ClassVar[str] = "srm"

    def __init__(self, expected_share: float = 0.5, min_units: int = 8) -> None:
        self.expected_share = check_float("SrmTest", "expected_share", expected_share, 0.0, 1.0)
        self.min_units = check_int("SrmTest", "min_units", min_units, 1)

    def run(self, a: int, b: int, *, alpha: float = 0.001) -> StatResult:
        """Test the unit counts ``a`` and ``b``; see the class docstring."""
        from scipy import stats

        alpha = check_alpha("SrmTest", alpha)
        a, b = _check_count("a", a), _check_count("b", b)
        total = a + b
        if total == 0:
            return StatResult(0.0, 1.0, None, 0.0, "srm", alpha=alpha, enough_data=False)
        share = self.expected_share
        expected = [total * (1.0 - share), total * share]
        chi2 = stats.chisquare([a, b], f_exp=expected)
        low, high = stats.binomtest(b, total).proportion_ci(1.0 - alpha, method="wilson")
        return StatResult(
            statistic=float(chi2.statistic),
            p_value=float(chi2.pvalue),
            ci=(float(low) - share, float(high) - share),
            effect=b / total - share,
            method="srm",
            alpha=alpha,
            df=1.0,
            enough_data=min(a, b) >= self.min_units,
        )

    def example_arms(self, seed: int) -> tuple[int, int]:
        rng = np.random.default_rng(seed)
        b = int(rng.binomial(2000, 0.52))
        return 2000 - b, b

    def reference_case(self, seed: int) -> ReferenceCase:
        """``scipy.stats.chisquare`` of the counts against the split, and its Wilson interval."""
        from scipy import stats

        a, b = self.example_arms(seed)
        expected = [(a + b) * (1.0 - self.expected_share), (a + b) * self.expected_share]
        scipy = stats.chisquare([a, b], f_exp=expected)
        low, high = stats.binomtest(b, a + b).proportion_ci(0.999, method="wilson")
        return ReferenceCase(
            a,
            b,
            "scipy.stats.chisquare and binomtest(...).proportion_ci(method='wilson')",
            statistic=float(scipy.statistic),
            p_value=float(scipy.pvalue),
            ci=(float(low) - self.expected_share, float(high) - self.expected_share),
            alpha=0.001,
        )
