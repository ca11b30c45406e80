"""Interleaving: per-impression wins, losses and ties, a sign test and a bootstrap over units."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from scipy import stats

from champion.errors import InvalidInput
from champion.evaluation.stattests.base import StatResult
from champion.validation import check_alpha, check_int

__all__ = ["InterleavingTest", "interleaving_delta"]


def interleaving_delta(wins: int, losses: int, ties: int) -> float:
    """Chapelle et al.'s ``Δ_AB = (wins + ties / 2) / (wins + losses + ties) - 1 / 2``.

    ``wins`` counts impressions where the challenger's items got more clicks, ``losses``
    those where the champion's did. Δ lies in [-0.5, 0.5]; it equals
    ``(wins - losses) / (2 (wins + losses + ties))``.

    Examples
    --------
    >>> round(interleaving_delta(60, 40, 20), 5)
    0.08333
    """
    total = wins + losses + ties
    return 0.0 if total == 0 else (wins + 0.5 * ties) / total - 0.5


def _outcomes(name: str, value: Any) -> list[npt.NDArray[np.float64]]:
    expected = (
        "a sequence with one entry per unit, each a sequence of that unit's per-impression "
        "click counts"
    )
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
        raise InvalidInput(
            f"The {name!r} argument of InterleavingTest must be {expected}. Got {value!r} instead."
        )
    units = []
    for index, impressions in enumerate(value):
        try:
            array = np.asarray(impressions, dtype=np.float64)
        except (TypeError, ValueError):
            array = np.array([np.nan])
        if array.ndim != 1 or not np.all(np.isfinite(array)) or np.any(array < 0):
            raise InvalidInput(
                f"The {name!r} argument of InterleavingTest must be {expected}. "
                f"Got {impressions!r} at {name}[{index}] instead."
            )
        units.append(array)
    return units


class InterleavingTest:
    """Compare two rankers from interleaved impressions credited item by item.

    ``a[u][i]`` and ``b[u][i]`` are the clicks credited to the champion and the challenger in
    impression ``i`` of unit ``u`` (for example from team-draft interleaving). Each
    impression with a click is a win (``b`` got more), a loss or a tie; impressions without
    clicks are ignored.

    * ``effect`` is Δ_AB (:func:`interleaving_delta`), positive when ``b`` is preferred;
    * ``p_value`` is the two-sided exact sign test of wins against losses,
      ``scipy.stats.binomtest(wins, wins + losses, 0.5)``, with ties dropped;
    * ``ci`` is a percentile bootstrap of Δ_AB that resamples **units**, never impressions,
      because one user's impressions are correlated; the sign test treats impressions as
      independent, so when they are not, trust the interval.

    Parameters
    ----------
    n_resamples
        Bootstrap resamples.
    seed
        Seed of the ``numpy.random.Generator`` that draws them.

    References
    ----------
    Chapelle, Joachims, Radlinski and Yue (2012). Large-scale validation and analysis of
    interleaved search evaluation. ACM TOIS 30(1).

    Examples
    --------
    >>> a = [[1, 0], [0], [1, 1, 0]]
    >>> b = [[0, 1], [1], [2, 0, 1]]
    >>> result = InterleavingTest(n_resamples=200, seed=1).run(a, b)
    >>> round(result.effect, 4), round(result.p_value, 4)
    (0.1667, 0.6875)
    """

    name: ClassVar[str] = "interleaving"
    example_params: ClassVar[dict[str, Any]] = {"n_resamples": 200}
    """Parameters that keep the contract checks fast."""

    def __init__(self, n_resamples: int = 2000, seed: int = 0) -> None:
        self.n_resamples = check_int("InterleavingTest", "n_resamples", n_resamples, 100)
        self.seed = check_int("InterleavingTest", "seed", seed, 0)

    def run(self, a: Any, b: Any, *, alpha: float = 0.05) -> StatResult:
        """Score the impressions in ``a`` and ``b``; see the class docstring."""
        alpha = check_alpha("InterleavingTest", alpha)
        units_a, units_b = _outcomes("a", a), _outcomes("b", b)
        if len(units_a) != len(units_b) or any(
            x.shape != y.shape for x, y in zip(units_a, units_b, strict=True)
        ):
            raise InvalidInput(
                "The 'a' and 'b' arguments of InterleavingTest must have the same units and "
                f"impressions. Got {len(units_a)} and {len(units_b)} units, or impressions "
                "of different lengths, instead."
            )
        # per unit: wins, losses, ties
        counts = np.array(
            [
                [np.sum(y > x), np.sum(x > y), np.sum((x == y) & (x > 0))]
                for x, y in zip(units_a, units_b, strict=True)
            ],
            dtype=np.float64,
        ).reshape(-1, 3)
        wins, losses, ties = (int(c) for c in counts.sum(axis=0))
        effect = interleaving_delta(wins, losses, ties)
        decided = wins + losses
        p_value = float(stats.binomtest(wins, decided, 0.5).pvalue) if decided else 1.0
        ci = self._bootstrap(counts, alpha) if len(counts) else None
        return StatResult(
            statistic=float(wins - losses),
            p_value=min(1.0, p_value),
            ci=ci,
            effect=effect,
            method="interleaving",
            alpha=alpha,
            enough_data=decided > 0,
        )

    def _bootstrap(self, counts: npt.NDArray[np.float64], alpha: float) -> tuple[float, float]:
        rng = np.random.default_rng(self.seed)
        n_units = len(counts)
        totals = np.empty((self.n_resamples, 3))
        chunk = max(1, 2_000_000 // n_units)  # bounds memory at a few million indices
        for start in range(0, self.n_resamples, chunk):
            size = min(chunk, self.n_resamples - start)
            picks = rng.integers(0, n_units, size=(size, n_units))
            for column in range(3):
                totals[start : start + size, column] = counts[picks, column].sum(axis=1)
        wins, losses, ties = totals[:, 0], totals[:, 1], totals[:, 2]
        n = wins + losses + ties
        deltas = np.where(n > 0, (wins - losses) / (2.0 * np.maximum(n, 1.0)), 0.0)
        lower, upper = np.quantile(deltas, [alpha / 2.0, 1.0 - alpha / 2.0])
        return float(lower), float(upper)

    def example_arms(self, seed: int) -> tuple[list[list[int]], list[list[int]]]:
        rng = np.random.default_rng(seed)
        a, b = [], []
        for _ in range(150):
            impressions = int(rng.integers(1, 6))
            a.append(rng.binomial(1, 0.30, impressions).tolist())
            b.append(rng.binomial(1, 0.36, impressions).tolist())
        return a, b
