"""Inverse-propensity estimates of each arm's reward from a bandit's logged probabilities.

A bandit sends more traffic to the arm that looks best so far, so an arm's plain reward mean
is biased by when it was chosen. Weighting each logged request by ``1 / p`` (the probability
it had of landing in its arm) gives an unbiased estimate of the reward the arm would earn if
it got all traffic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from champion.evaluation.stattests import RatioSummary, Summary
from champion.events.arms import ArmWindow, propensity_sums

__all__ = ["PropensityEstimate", "ips_estimates", "propensity_estimates"]


@dataclass(frozen=True)
class PropensityEstimate:
    """One arm's reward if it served everyone.

    ``ips`` is the Horvitz-Thompson estimate ``(1/N) Σ 1[a_i = arm] r_i / p_i`` over all
    ``N`` logged requests; ``snips`` the self-normalised one, ``Σ w r / Σ w`` with
    ``w = 1[a_i = arm] / p_i``, which trades a little bias for far less variance. Intervals
    are normal, from the sample variance (IPS) and the delta method (SNIPS).
    """

    arm: str
    requests: int
    ips: float
    ips_ci: tuple[float, float]
    snips: float | None
    snips_ci: tuple[float, float] | None

    def to_json(self) -> dict[str, Any]:
        return {
            "arm": self.arm,
            "requests": self.requests,
            "ips": self.ips,
            "ips_ci": list(self.ips_ci),
            "snips": self.snips,
            "snips_ci": list(self.snips_ci) if self.snips_ci else None,
        }


def ips_estimates(
    total: int, sums: dict[str, tuple[float, float, float, float]], *, alpha: float = 0.05
) -> dict[str, PropensityEstimate]:
    """Estimates from ``total`` logged requests and per arm ``(Σ r/p, Σ r/p², Σ 1/p, Σ 1/p²)``.

    Examples
    --------
    >>> found = ips_estimates(4, {"a": (4.0, 16.0, 6.0, 20.0), "b": (2.0, 4.0, 4.0, 8.0)})
    >>> found["a"].ips, found["a"].snips, found["b"].ips
    (1.0, 0.6666666666666666, 0.5)
    """
    from scipy import stats

    z = float(stats.norm.ppf(1 - alpha / 2))
    found = {}
    for arm, (weighted, weighted_squares, weights, weight_squares) in sorted(sums.items()):
        # r is 0/1, so (r/p)² = r/p² and (r/p)(1/p) = r/p².
        ips = Summary(total, weighted, weighted_squares)
        half = z * math.sqrt(ips.variance / total) if total > 1 else math.inf
        ratio = RatioSummary(
            total, weighted, weights, weighted_squares, weight_squares, weighted_squares
        )
        snips = ratio.mean if weights > 0 else None
        snips_ci = None
        if snips is not None and total > 1:
            snips_half = z * math.sqrt(ratio.variance / total)
            snips_ci = (snips - snips_half, snips + snips_half)
        found[arm] = PropensityEstimate(
            arm=arm,
            requests=total,
            ips=ips.mean,
            ips_ci=(ips.mean - half, ips.mean + half),
            snips=snips,
            snips_ci=snips_ci,
        )
    return found


def propensity_estimates(
    conn: sa.Connection, window: ArmWindow, reward: str, *, alpha: float = 0.05
) -> dict[str, PropensityEstimate]:
    """IPS and SNIPS of every arm in ``window``, a success being a ``reward`` feedback event."""
    total, sums = propensity_sums(conn, window, reward)
    return ips_estimates(total, sums, alpha=alpha) if total else {}
