"""Interleaving analysed per unit: each unit's credited wins and losses give one preference.

One user's impressions are correlated (the same tastes click again and again), so an
impression-level test treats hundreds of dependent outcomes as independent and the most
active users dominate a pooled estimate. Here every unit with at least one decided
impression contributes one number, its preference ``(wins - losses) / (wins + losses)`` in
[-1, 1], units are weighted equally, and the tests run over units.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from champion.errors import InvalidInput
from champion.evaluation.stattests.base import ReferenceCase, StatResult
from champion.evaluation.stattests.sequential import always_valid
from champion.validation import check_alpha, check_choice, check_float, check_int

__all__ = [
    "INTERLEAVING_TESTS",
    "InterleavingTest",
    "interleaving_delta",
    "preference_test",
    "unit_preferences",
]

INTERLEAVING_TESTS = ("sequential", "t", "sign", "bootstrap")
"""How :func:`preference_test` tests the mean unit preference: always-valid (``sequential``)
or, once at a planned horizon, a one-sample t-test, a sign test over units or a bootstrap
over units."""


def interleaving_delta(wins: int, losses: int, ties: int) -> float:
    """Chapelle et al.'s pooled ``Δ_AB = (wins + ties / 2) / (wins + losses + ties) - 1 / 2``.

    A description of all impressions together (active units weigh more), not the estimate
    the tests use. Δ lies in [-0.5, 0.5]; it equals ``(wins - losses) / (2 (wins + losses +
    ties))``.

    Examples
    --------
    >>> round(interleaving_delta(60, 40, 20), 5)
    0.08333
    """
    total = wins + losses + ties
    return 0.0 if total == 0 else (wins + 0.5 * ties) / total - 0.5


def _counts(owner: str, name: str, value: Any) -> npt.NDArray[np.float64]:
    expected = "a 1-D sequence of per-unit counts (finite numbers of at least 0)"
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        array = np.array([[np.nan]])
    if isinstance(value, str | bytes) or array.ndim != 1 or not np.all(np.isfinite(array)):
        raise InvalidInput(f"The {name!r} argument of {owner} must be {expected}. Got {value!r}.")
    if np.any(array < 0):
        index = int(np.argmax(array < 0))
        raise InvalidInput(
            f"The {name!r} argument of {owner} must be {expected}. "
            f"Got {value[index]!r} at {name}[{index}] instead."
        )
    return array


def unit_preferences(wins: Any, losses: Any) -> npt.NDArray[np.float64]:
    """Each unit's preference ``(wins - losses) / (wins + losses)``, positive for the challenger.

    ``wins[u]`` counts unit ``u``'s impressions whose credited clicks went mostly to the
    challenger, ``losses[u]`` those that went mostly to the champion. Units without a won or
    lost impression (no clicks, or only ties) express no preference and are left out.

    Examples
    --------
    >>> unit_preferences([3, 0, 1, 0], [1, 2, 1, 0]).tolist()
    [0.5, -1.0, 0.0]
    """
    w = _counts("unit_preferences", "wins", wins)
    lost = _counts("unit_preferences", "losses", losses)
    if w.shape != lost.shape:
        raise InvalidInput(
            "The 'wins' and 'losses' arguments of unit_preferences must have one entry per "
            f"unit each. Got {w.size} and {lost.size} entries instead."
        )
    decided = w + lost > 0
    return (w[decided] - lost[decided]) / (w[decided] + lost[decided])


def _t_test(preferences: npt.NDArray[np.float64], alpha: float) -> StatResult:
    from scipy import stats

    mean = float(preferences.mean())
    if float(preferences.std()) == 0.0:  # every unit agrees: SciPy's t would divide by zero
        return StatResult(0.0, 1.0 if mean == 0 else 0.0, (mean, mean), mean, "t", alpha)
    result = stats.ttest_1samp(preferences, 0.0)
    interval = result.confidence_interval(1.0 - alpha)
    return StatResult(
        statistic=float(result.statistic),
        p_value=float(result.pvalue),
        ci=(float(interval.low), float(interval.high)),
        effect=mean,
        method="t",
        alpha=alpha,
        df=float(result.df),
    )


def _sign_test(preferences: npt.NDArray[np.float64], alpha: float) -> StatResult:
    from scipy import stats

    ahead, behind = int(np.sum(preferences > 0)), int(np.sum(preferences < 0))
    mean = float(preferences.mean())
    if ahead + behind == 0:
        return StatResult(0.0, 1.0, None, mean, "sign", alpha, enough_data=False)
    p_value = float(stats.binomtest(ahead, ahead + behind, 0.5).pvalue)
    return StatResult(float(ahead - behind), min(1.0, p_value), None, mean, "sign", alpha)


def _bootstrap(
    preferences: npt.NDArray[np.float64], alpha: float, n_resamples: int, seed: int
) -> StatResult:
    from scipy import stats

    mean = float(preferences.mean())
    if float(preferences.std()) == 0.0:  # every resample is the same: no interval to draw
        return StatResult(0.0, 1.0 if mean == 0 else 0.0, (mean, mean), mean, "bootstrap", alpha)
    result = stats.bootstrap(
        (preferences,),
        np.mean,
        confidence_level=1.0 - alpha,
        n_resamples=n_resamples,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    means = result.bootstrap_distribution
    # The percentile interval leaves out 0 when this p-value is under alpha (up to the
    # interpolation between neighbouring resamples).
    p_value = min(1.0, 2.0 * min(float(np.mean(means <= 0.0)), float(np.mean(means >= 0.0))))
    return StatResult(
        statistic=mean / float(result.standard_error),
        p_value=p_value,
        ci=(float(result.confidence_interval.low), float(result.confidence_interval.high)),
        effect=mean,
        method="bootstrap",
        alpha=alpha,
    )


def preference_test(
    wins: Any,
    losses: Any,
    *,
    test: str = "sequential",
    alpha: float = 0.05,
    tuning_n: float = 5000.0,
    n_resamples: int = 2000,
    seed: int = 0,
) -> StatResult:
    """Test whether units prefer the challenger, from each unit's ``wins`` and ``losses``.

    The estimate (``effect``) is the mean of :func:`unit_preferences` over the units that
    expressed one, every unit weighted equally; positive favours the challenger. ``test``:

    * ``sequential`` (default): the always-valid mSPRT of
      :func:`~champion.evaluation.stattests.sequential.always_valid` on that mean and its
      variance ``s² / n``, tightest near ``tuning_n`` units; valid at every look;
    * ``t``: ``scipy.stats.ttest_1samp(preferences, 0)`` and its t interval;
    * ``sign``: ``scipy.stats.binomtest`` of units preferring the challenger against units
      preferring the champion (no interval);
    * ``bootstrap``: ``scipy.stats.bootstrap`` of the mean over units (percentile interval),
      with the p-value ``2 min(P*(mean <= 0), P*(mean >= 0))`` of its resamples.

    The fixed-horizon tests (``t``, ``sign``, ``bootstrap``) are valid for one look only.
    Fewer than 2 units with a preference give ``enough_data=False``.

    References
    ----------
    Chapelle, Joachims, Radlinski and Yue (2012). Large-scale validation and analysis of
    interleaved search evaluation. ACM TOIS 30(1). Parks, Aurisset and Ramm (2017).
    Innovating Faster on Personalization Algorithms at Netflix Using Interleaving. Netflix
    Technology Blog.

    Examples
    --------
    >>> result = preference_test([3, 2, 0, 4, 1, 2], [1, 2, 1, 0, 0, 1], test="t")
    >>> round(result.effect, 4), round(result.p_value, 4)
    (0.3056, 0.3632)
    """
    test = check_choice("preference_test", "test", test, INTERLEAVING_TESTS)
    alpha = check_alpha("preference_test", alpha)
    preferences = unit_preferences(wins, losses)
    n = int(preferences.size)
    if n < 2:
        effect = float(preferences.mean()) if n else 0.0
        return StatResult(0.0, 1.0, None, effect, test, alpha, enough_data=False)
    if test == "sequential":
        tuning_n = check_float("preference_test", "tuning_n", tuning_n, 0.0, math.inf)
        mean, variance = float(preferences.mean()), float(preferences.var(ddof=1))
        return always_valid(mean, variance / n, n, alpha=alpha, tuning_n=tuning_n)
    if test == "t":
        return _t_test(preferences, alpha)
    if test == "sign":
        return _sign_test(preferences, alpha)
    n_resamples = check_int("preference_test", "n_resamples", n_resamples, 100)
    seed = check_int("preference_test", "seed", seed, 0)
    return _bootstrap(preferences, alpha, n_resamples, seed)


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
    """Compare two rankers from interleaved impressions credited item by item, per unit.

    ``a[u][i]`` and ``b[u][i]`` are the clicks credited to the champion and the challenger in
    impression ``i`` of unit ``u`` (for example from team-draft interleaving). An impression
    is a win when ``b`` got more, a loss when ``a`` did; each unit's wins and losses become
    one preference and :func:`preference_test` tests their mean with ``test``.

    Parameters
    ----------
    test
        One of ``sequential``, ``t`` (the default: the registered test is fixed-horizon),
        ``sign`` or ``bootstrap``.
    tuning_n
        Units at which the ``sequential`` confidence sequence is tightest.
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
    >>> a = [[1, 0], [0], [1, 1, 0], [0, 0]]
    >>> b = [[0, 2], [1], [2, 0, 1], [1, 1]]
    >>> result = InterleavingTest().run(a, b)
    >>> round(result.effect, 4), round(result.p_value, 4)
    (0.5833, 0.1018)
    """

    name: ClassVar[str] = "interleaving"
    example_params: ClassVar[dict[str, Any]] = {"n_resamples": 200, "test": "bootstrap"}
    """Parameters that keep the contract checks fast."""

    def __init__(
        self, test: str = "t", tuning_n: float = 5000.0, n_resamples: int = 2000, seed: int = 0
    ) -> None:
        self.test = check_choice("InterleavingTest", "test", test, INTERLEAVING_TESTS)
        self.tuning_n = check_float("InterleavingTest", "tuning_n", tuning_n, 0.0, math.inf)
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
        wins = [int(np.sum(y > x)) for x, y in zip(units_a, units_b, strict=True)]
        losses = [int(np.sum(x > y)) for x, y in zip(units_a, units_b, strict=True)]
        return preference_test(
            wins,
            losses,
            test=self.test,
            alpha=alpha,
            tuning_n=self.tuning_n,
            n_resamples=self.n_resamples,
            seed=self.seed,
        )

    def example_arms(self, seed: int) -> tuple[list[list[int]], list[list[int]]]:
        rng = np.random.default_rng(seed)
        a, b = [], []
        for _ in range(150):
            impressions = int(rng.integers(1, 6))
            a.append(rng.binomial(1, 0.30, impressions).tolist())
            b.append(rng.binomial(1, 0.36, impressions).tolist())
        return a, b

    def reference_case(self, seed: int) -> ReferenceCase | None:
        """SciPy's test of the per-unit preferences: ``ttest_1samp`` (``t``), ``binomtest``
        (``sign``) or ``bootstrap`` with the same seed (``bootstrap``); ``sequential`` has
        no SciPy counterpart."""
        from scipy import stats

        a, b = self.example_arms(seed)
        wins = np.array([np.sum(np.greater(y, x)) for x, y in zip(a, b, strict=True)])
        losses = np.array([np.sum(np.greater(x, y)) for x, y in zip(a, b, strict=True)])
        decided = wins + losses > 0
        preferences = (wins - losses)[decided] / (wins + losses)[decided]
        if self.test == "t":
            scipy = stats.ttest_1samp(preferences, 0.0)
            interval = scipy.confidence_interval(0.95)
            return ReferenceCase(
                a,
                b,
                "scipy.stats.ttest_1samp(preferences, 0)",
                statistic=float(scipy.statistic),
                p_value=float(scipy.pvalue),
                ci=(float(interval.low), float(interval.high)),
            )
        if self.test == "sign":
            ahead = int(np.sum(preferences > 0))
            decisive = ahead + int(np.sum(preferences < 0))
            p_value = float(stats.binomtest(ahead, decisive, 0.5).pvalue)
            return ReferenceCase(a, b, "scipy.stats.binomtest(ahead, n, 0.5)", p_value=p_value)
        if self.test == "bootstrap":
            resampled = stats.bootstrap(
                (preferences,),
                np.mean,
                confidence_level=0.95,
                n_resamples=self.n_resamples,
                method="percentile",
                rng=np.random.default_rng(self.seed),
            )
            bounds = resampled.confidence_interval
            return ReferenceCase(
                a,
                b,
                "scipy.stats.bootstrap((preferences,), np.mean, method='percentile')",
                ci=(float(bounds.low), float(bounds.high)),
            )
        return None
