"""CUPED: less variance from a pre-period covariate, with one theta pooled over both arms."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from champion.errors import InvalidInput
from champion.evaluation.stattests.base import ReferenceCase, StatResult
from champion.evaluation.stattests.welch import DISTRIBUTIONS, compare_means
from champion.validation import check_alpha, check_choice, check_sample

__all__ = ["CupedTest", "cuped_theta"]

Pair = tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]


def cuped_theta(metric: npt.NDArray[np.float64], covariate: npt.NDArray[np.float64]) -> float:
    """``cov(Y, X) / var(X)``: the regression slope that minimises ``Var(Y - θ X)``."""
    var_x = float(np.var(covariate, ddof=1))
    if var_x == 0.0:
        return 0.0
    return float(np.cov(metric, covariate, ddof=1)[0, 1]) / var_x


def _arm(name: str, value: Any) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise InvalidInput(
            f"The {name!r} argument of CupedTest must be a pair (metric, covariate) of "
            f"per-unit arrays. Got {value!r} instead."
        )
    y = check_sample("CupedTest", f"{name}[0]", value[0])
    x = check_sample("CupedTest", f"{name}[1]", value[1])
    if x.size != y.size:
        raise InvalidInput(
            f"The {name!r} argument of CupedTest must hold a metric and a covariate of the "
            f"same length. Got {y.size} and {x.size} values instead."
        )
    return y, x


class CupedTest:
    """Welch's test on CUPED-adjusted values ``Y - θ (X - mean(X))``.

    Each arm is a pair ``(metric, covariate)`` with one entry per unit; the covariate is
    measured before the experiment (e.g. last month's spend), so the treatment cannot move
    it. θ is pooled over both arms, which keeps the estimate unbiased; the variance of the
    effect shrinks by ``1 - rho²`` where rho is the correlation of metric and covariate.

    Parameters
    ----------
    distribution
        ``"t"`` (Welch-Satterthwaite) or ``"normal"``.

    References
    ----------
    Deng, Xu, Kohavi and Walker (2013). Improving the Sensitivity of Online Controlled
    Experiments by Utilizing Pre-Experiment Data. WSDM. The test agrees with
    ``scipy.stats.ttest_ind(equal_var=False)`` on the adjusted values.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(5)
    >>> x_a, x_b = rng.normal(0, 1, 1000), rng.normal(0, 1, 1000)
    >>> a = (0.7 * x_a + rng.normal(0, 0.714, 1000), x_a)
    >>> b = (0.1 + 0.7 * x_b + rng.normal(0, 0.714, 1000), x_b)
    >>> result = CupedTest().run(a, b)
    >>> round(result.effect, 4), float(f"{result.p_value:.2g}")
    (0.1238, 0.00014)
    """

    name: ClassVar[str] = "cuped"

    def __init__(self, distribution: str = "t") -> None:
        self.distribution = check_choice("CupedTest", "distribution", distribution, DISTRIBUTIONS)

    def run(self, a: Any, b: Any, *, alpha: float = 0.05) -> StatResult:
        """Compare ``a`` and ``b`` after the CUPED adjustment; see the class docstring."""
        alpha = check_alpha("CupedTest", alpha)
        y_a, x_a = _arm("a", a)
        y_b, x_b = _arm("b", b)
        x_all = np.concatenate([x_a, x_b])
        theta = cuped_theta(np.concatenate([y_a, y_b]), x_all)
        centre = float(x_all.mean())
        adjusted_a = y_a - theta * (x_a - centre)
        adjusted_b = y_b - theta * (x_b - centre)
        return compare_means(
            (float(adjusted_a.mean()), float(adjusted_a.var(ddof=1)), adjusted_a.size),
            (float(adjusted_b.mean()), float(adjusted_b.var(ddof=1)), adjusted_b.size),
            relative=False,
            alpha=alpha,
            distribution=self.distribution,
            method="cuped",
        )

    def example_arms(self, seed: int) -> tuple[Pair, Pair]:
        rng = np.random.default_rng(seed)
        x_a, x_b = rng.normal(5.0, 2.0, 400), rng.normal(5.0, 2.0, 450)
        return (
            (x_a + rng.normal(0.0, 1.5, 400), x_a),
            (0.3 + x_b + rng.normal(0.0, 1.5, 450), x_b),
        )

    def reference_case(self, seed: int) -> ReferenceCase | None:
        """SciPy's Welch test on values adjusted by the slope of ``scipy.stats.linregress``."""
        from scipy import stats

        if self.distribution != "t":
            return None
        (y_a, x_a), (y_b, x_b) = self.example_arms(seed)
        x_all = np.concatenate([x_a, x_b])
        slope = float(stats.linregress(x_all, np.concatenate([y_a, y_b])).slope)
        scipy = stats.ttest_ind(
            y_b - slope * (x_b - x_all.mean()), y_a - slope * (x_a - x_all.mean()), equal_var=False
        )
        interval = scipy.confidence_interval(0.95)
        return ReferenceCase(
            (y_a, x_a),
            (y_b, x_b),
            "scipy.stats.ttest_ind(equal_var=False) after scipy.stats.linregress",
            statistic=float(scipy.statistic),
            p_value=float(scipy.pvalue),
            ci=(float(interval.low), float(interval.high)),
        )
