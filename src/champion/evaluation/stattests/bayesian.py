"""Chance to win: the posterior probability that the challenger's mean beats the champion's."""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from champion.evaluation.stattests.base import ReferenceCase, StatResult
from champion.evaluation.stattests.proportions import check_proportion
from champion.evaluation.stattests.summary import Moments, Summary
from champion.evaluation.stattests.welch import check_moments, mean_effect
from champion.validation import check_alpha, check_choice, check_float

__all__ = ["BayesianTest"]


class BayesianTest:
    """Chance to win on the relative effect ``mean_b / mean_a - 1``, as gbstats computes it.

    The likelihood of the relative effect is normal, centred on the observed lift with the
    delta-method variance. With the default improper (flat) prior the posterior equals that
    likelihood; a proper prior ``N(0, prior_variance)`` shrinks it towards 0 by precision
    weighting. ``chance_to_win = P(effect > 0 | data)`` and ``ci`` is the equal-tailed
    ``1 - alpha`` credible interval.

    ``p_value`` is ``2 min(chance_to_win, 1 - chance_to_win)``: under the flat prior it is
    the two-sided z-test p-value, so the result reads like the other tests.

    Parameters
    ----------
    metric
        ``"proportion"`` (arms are ``Summary.from_counts``, variance ``p (1 - p)``) or
        ``"mean"`` (sample variance; a :class:`RatioSummary` arm uses its delta-method
        variance).
    prior_variance
        Variance of a normal prior on the relative effect, centred on 0; None for the
        improper prior.

    References
    ----------
    GrowthBook gbstats 0.8.0, ``gbstats/bayesian/tests.py`` (``EffectBayesianABTest`` with
    ``GaussianPrior(proper=False)``); its test vector 49/100 against 51/100 gives a chance to
    win of 0.60918.

    Examples
    --------
    >>> a, b = Summary.from_counts(49, 100), Summary.from_counts(51, 100)
    >>> round(BayesianTest().run(a, b).chance_to_win, 5)
    0.60918
    """

    name: ClassVar[str] = "bayesian"

    def __init__(self, metric: str = "proportion", prior_variance: float | None = None) -> None:
        self.metric = check_choice("BayesianTest", "metric", metric, ("mean", "proportion"))
        self.prior_variance = (
            None
            if prior_variance is None
            else check_float("BayesianTest", "prior_variance", prior_variance, 0.0, math.inf)
        )

    def run(self, a: Moments, b: Moments, *, alpha: float = 0.05) -> StatResult:
        """The posterior of the relative effect of ``b`` over ``a``; see the class docstring."""
        from scipy import stats

        alpha = check_alpha("BayesianTest", alpha)
        if self.metric == "proportion":
            a = check_proportion("BayesianTest", "a", a)
            b = check_proportion("BayesianTest", "b", b)
            var_a, var_b = a.proportion_variance, b.proportion_variance
        else:
            a = check_moments("BayesianTest", "a", a)
            b = check_moments("BayesianTest", "b", b)
            var_a, var_b = a.variance, b.variance
        mean, variance = mean_effect(
            (a.mean, var_a, a.n), (b.mean, var_b, b.n), relative=True, method="BayesianTest"
        )
        if self.prior_variance is not None and variance > 0:
            precision = 1.0 / variance + 1.0 / self.prior_variance
            mean, variance = (mean / variance) / precision, 1.0 / precision
        sd = math.sqrt(variance)
        if sd == 0.0:
            chance = 0.5 if mean == 0 else float(mean > 0)
            ci = (mean, mean)
        else:
            chance = float(stats.norm.sf(0.0, loc=mean, scale=sd))
            lower, upper = stats.norm.interval(1.0 - alpha, loc=mean, scale=sd)
            ci = (float(lower), float(upper))
        return StatResult(
            statistic=mean / sd if sd else 0.0,
            p_value=min(1.0, 2.0 * min(chance, 1.0 - chance)),
            ci=ci,
            effect=mean,
            method="bayesian",
            alpha=alpha,
            relative=True,
            chance_to_win=chance,
        )

    def example_arms(self, seed: int) -> tuple[Summary, Summary]:
        rng = np.random.default_rng(seed)
        return (
            Summary.from_counts(int(rng.binomial(800, 0.20)), 800),
            Summary.from_counts(int(rng.binomial(900, 0.23)), 900),
        )

    def reference_case(self, seed: int) -> ReferenceCase | None:
        """GrowthBook's published test vector (the same for every seed): 49/100 against
        51/100 under the flat prior has a chance to win of 0.60918 (five digits)."""
        if self.metric != "proportion" or self.prior_variance is not None:
            return None
        return ReferenceCase(
            Summary.from_counts(49, 100),
            Summary.from_counts(51, 100),
            "GrowthBook gbstats 0.8.0 EffectBayesianABTest test vector",
            chance_to_win=0.60918,
            atol=5e-6,
        )
