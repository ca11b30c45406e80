"""CUPED on ratio metrics from SQL sums: the per-unit linearised metric, adjusted by the
same metric's pre-period value of the same unit."""

from __future__ import annotations

import math
from dataclasses import dataclass

from champion.errors import InvalidInput
from champion.evaluation.stattests.summary import RatioSummary

__all__ = ["AdjustedArm", "CovariateSums", "cuped_arms"]


@dataclass(frozen=True)
class CovariateSums:
    """One arm's sums over its ``n`` units of the metric ``(x, y)`` in the experiment and
    of its covariate ``(u, v)``, the same metric's numerator and denominator in the
    pre-period (0 for a unit without history): what one SQL ``GROUP BY`` returns."""

    n: int
    sum_x: float
    sum_y: float
    sum_xx: float
    sum_yy: float
    sum_xy: float
    sum_u: float
    sum_v: float
    sum_uu: float
    sum_vv: float
    sum_uv: float
    sum_xu: float
    sum_xv: float
    sum_yu: float
    sum_yv: float

    @property
    def metric(self) -> RatioSummary:
        return RatioSummary(self.n, self.sum_x, self.sum_y, self.sum_xx, self.sum_yy, self.sum_xy)


@dataclass(frozen=True)
class AdjustedArm:
    """One arm after CUPED: the adjusted mean, the per-unit variance of the adjusted
    linearised metric, and ``n``."""

    mean: float
    variance: float
    n: int


def _cov(arm: CovariateSums, a: str, b: str) -> float:
    """The sample covariance of two of the arm's per-unit values, e.g. ``x`` and ``u``."""
    cross = float(getattr(arm, f"sum_{a}{b}"))
    sum_a, sum_b = float(getattr(arm, f"sum_{a}")), float(getattr(arm, f"sum_{b}"))
    return (cross - sum_a * sum_b / arm.n) / (arm.n - 1)


def _moments(arm: CovariateSums, ratio_pre: float, mean_v: float) -> tuple[float, float, float]:
    """Within-arm ``var(L)``, ``cov(L, C)`` and ``var(C)``, where
    ``L = (x - R y) / ȳ`` is the linearised metric at the arm's own ratio and
    ``C = (u - R' v) / v̄`` the covariate linearised at the pooled pre-period ratio."""
    metric = arm.metric
    ratio, mean_y = metric.mean, arm.sum_y / arm.n
    var_l = metric.variance

    def c(first: str, second: str) -> float:
        return _cov(arm, first, second)

    var_c = (c("u", "u") - 2 * ratio_pre * c("u", "v") + ratio_pre**2 * c("v", "v")) / mean_v**2
    cross = c("x", "u") - ratio_pre * c("x", "v") - ratio * c("y", "u")
    cov_lc = (cross + ratio * ratio_pre * c("y", "v")) / (mean_y * mean_v)
    return var_l, cov_lc, max(var_c, 0.0)


def cuped_arms(a: CovariateSums, b: CovariateSums) -> tuple[AdjustedArm, AdjustedArm, float]:
    """Both arms adjusted by one pooled within-arm slope θ, and θ.

    θ is the regression slope of the linearised metric on the covariate with one intercept
    per arm, so for a plain mean (every ``y`` 1) the adjusted difference is the treatment
    coefficient of the OLS fit ``metric ~ 1 + arm + covariate``. The covariate is measured
    before the experiment, so the treatment cannot move it and the adjusted difference stays
    unbiased; its variance shrinks by about ``1 - rho²`` (rho the metric's correlation with its
    own past).

    References
    ----------
    Deng, Xu, Kohavi and Walker (2013). Improving the Sensitivity of Online Controlled
    Experiments by Utilizing Pre-Experiment Data. WSDM (section 3.3 for ratio metrics by the
    delta method).
    """
    for name, arm in (("a", a), ("b", b)):
        if arm.n < 3 or arm.sum_y <= 0:
            raise InvalidInput(
                f"The {name!r} argument of cuped_arms must hold at least 3 units with a "
                f"positive denominator total. Got n={arm.n!r}, sum_y={arm.sum_y!r} instead."
            )
    sum_v = a.sum_v + b.sum_v
    n = a.n + b.n
    if sum_v <= 0:  # no unit has a history: nothing to adjust by
        return _plain(a), _plain(b), 0.0
    ratio_pre, mean_v = (a.sum_u + b.sum_u) / sum_v, sum_v / n
    var_l_a, cov_a, var_c_a = _moments(a, ratio_pre, mean_v)
    var_l_b, cov_b, var_c_b = _moments(b, ratio_pre, mean_v)
    pooled_var = (a.n - 1) * var_c_a + (b.n - 1) * var_c_b
    theta = ((a.n - 1) * cov_a + (b.n - 1) * cov_b) / pooled_var if pooled_var > 0 else 0.0
    found = []
    for arm, var_l, cov, var_c in ((a, var_l_a, cov_a, var_c_a), (b, var_l_b, cov_b, var_c_b)):
        mean_c = (arm.sum_u - ratio_pre * arm.sum_v) / arm.n / mean_v
        variance = max(var_l - 2 * theta * cov + theta**2 * var_c, 0.0)
        found.append(AdjustedArm(arm.metric.mean - theta * mean_c, variance, arm.n))
    return found[0], found[1], theta


def _plain(arm: CovariateSums) -> AdjustedArm:
    metric = arm.metric
    variance = metric.variance
    return AdjustedArm(metric.mean, 0.0 if math.isnan(variance) else variance, arm.n)
