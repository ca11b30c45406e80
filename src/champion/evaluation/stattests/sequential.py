"""An always-valid test of two means: the normal-mixture sequential probability ratio test."""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from champion.evaluation.stattests.base import StatResult
from champion.evaluation.stattests.summary import Moments, Summary
from champion.evaluation.stattests.welch import check_moments, mean_effect
from champion.validation import check_alpha, check_float

__all__ = ["SequentialTest", "always_valid"]


def always_valid(
    effect: float, variance: float, n: int, *, alpha: float, tuning_n: float = 5000.0
) -> StatResult:
    """The mSPRT p-value and confidence sequence of an estimate ``effect`` of ``variance``.

    ``n`` is the number of units behind the estimate; :class:`SequentialTest` explains the
    mixture and its tuning. Any asymptotically normal estimate works: a difference of means,
    of delta-method ratios, or a mean of per-unit paired differences.

    Examples
    --------
    >>> result = always_valid(0.1, 0.0009, 6000, alpha=0.05)
    >>> round(result.p_value, 4), result.significant
    (0.0213, True)
    """
    if variance == 0.0:
        p_value = 1.0 if effect == 0 else 0.0
        return StatResult(0.0, p_value, (effect, effect), effect, "sequential", alpha=alpha)
    v = variance
    log_alpha = math.log(alpha)
    rho2 = (-2.0 * log_alpha + math.log(1.0 - 2.0 * log_alpha)) / tuning_n
    tau2 = rho2 * v * n
    log_lr = 0.5 * math.log(v / (v + tau2)) + effect**2 * tau2 / (2.0 * v * (v + tau2))
    half = math.sqrt(2.0 * v * (v + tau2) / tau2 * (-log_alpha + 0.5 * math.log((v + tau2) / v)))
    return StatResult(
        statistic=log_lr,
        p_value=min(1.0, math.exp(-log_lr)),
        ci=(effect - half, effect + half),
        effect=effect,
        method="sequential",
        alpha=alpha,
    )


class SequentialTest:
    """mSPRT on ``mean_b - mean_a``: look at it after every batch without inflating errors.

    With the effect estimate ``θ̂`` of variance ``v`` and a normal mixing distribution
    ``N(0, τ²)`` over the alternative, the mixture likelihood ratio against ``θ = 0`` is

    ``Λ = sqrt(v / (v + τ²)) exp(θ̂² τ² / (2 v (v + τ²)))``

    and ``p = min(1, 1 / Λ)``. By Ville's inequality the chance that ``p`` ever drops below
    ``alpha``, at any look, is at most ``alpha`` (asymptotically, as the variances are
    estimated), so the experiment may stop the first time it does. ``ci`` is the matching
    confidence sequence, the values ``θ0`` with ``Λ(θ0) < 1 / alpha``, which is the
    asymptotic confidence sequence of Waudby-Smith et al. with
    ``τ² = rho² s²``, ``s² = v (n_a + n_b)`` and
    ``rho² = (-2 log alpha + log(1 - 2 log alpha)) / tuning_n``; it is narrowest near ``tuning_n``
    units in total. This is the tuning GrowthBook uses (default 5000).

    Arms are :class:`Summary` (or :class:`RatioSummary`) values of the metric so far.

    Parameters
    ----------
    tuning_n
        The total number of units at which the confidence sequence is tightest.

    References
    ----------
    Johari, Koomen, Pekelis and Walsh (2017). Peeking at A/B Tests: Why it matters, and
    what to do about it. KDD. Waudby-Smith, Arbour, Sinha, Kennedy and Ramdas (2023).
    Time-uniform central limit theory and asymptotic confidence sequences. arXiv:2103.06476.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(11)
    >>> a = Summary.from_values(rng.normal(1.0, 1.0, 3000))
    >>> b = Summary.from_values(rng.normal(1.1, 1.0, 3000))
    >>> result = SequentialTest().run(a, b)
    >>> round(result.effect, 4), round(result.p_value, 4), result.significant
    (0.099, 0.0045, True)
    """

    name: ClassVar[str] = "sequential"

    def __init__(self, tuning_n: float = 5000.0) -> None:
        self.tuning_n = check_float("SequentialTest", "tuning_n", tuning_n, 0.0, math.inf)

    def run(self, a: Moments, b: Moments, *, alpha: float = 0.05) -> StatResult:
        """The always-valid p-value and confidence sequence now; see the class docstring."""
        alpha = check_alpha("SequentialTest", alpha)
        a = check_moments("SequentialTest", "a", a)
        b = check_moments("SequentialTest", "b", b)
        effect, variance = mean_effect(
            (a.mean, a.variance, a.n), (b.mean, b.variance, b.n), relative=False, method="mSPRT"
        )
        return always_valid(effect, variance, a.n + b.n, alpha=alpha, tuning_n=self.tuning_n)

    def example_arms(self, seed: int) -> tuple[Summary, Summary]:
        rng = np.random.default_rng(seed)
        return (
            Summary.from_values(rng.normal(2.0, 1.0, 800)),
            Summary.from_values(rng.normal(2.15, 1.2, 700)),
        )
