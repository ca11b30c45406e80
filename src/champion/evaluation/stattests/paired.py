"""Offline paired comparison of two versions on the same holdout."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from champion.errors import InvalidInput
from champion.evaluation.stattests.base import ReferenceCase, StatResult
from champion.validation import (
    check_alpha,
    check_choice,
    check_int,
    check_sample,
)

__all__ = ["PAIRED_METRICS", "McNemarTest", "PairedBootstrapTest"]

Arrays = npt.NDArray[np.float64]


# scikit-learn is imported when a metric is computed, not when the server starts (about a second).
def _auc(y_true: Arrays, y_score: Arrays) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y_true, y_score))


def _ndcg(y_true: Arrays, y_score: Arrays) -> float:
    from sklearn.metrics import ndcg_score

    return float(ndcg_score(y_true, y_score))


def _rmse(y_true: Arrays, y_pred: Arrays) -> float:
    from sklearn.metrics import mean_squared_error

    return float(np.sqrt(mean_squared_error(y_true, y_pred)))


def _row_terms(metric: str, y_true: Arrays, y_score: Arrays) -> Arrays:
    """Each row's share of a metric that is a mean over rows: its squared error (RMSE), or
    its query's NDCG as ``sklearn.metrics.ndcg_score`` scores it."""
    if metric == "rmse":
        return np.asarray((y_true - y_score) ** 2, dtype=np.float64)
    return np.array([_ndcg(y_true[i : i + 1], y_score[i : i + 1]) for i in range(len(y_true))])


PAIRED_METRICS: dict[str, Callable[[Arrays, Arrays], float]] = {
    "auc": _auc,
    "ndcg": _ndcg,
    "rmse": _rmse,
}


class McNemarTest:
    """McNemar's test on per-example correctness of two classifiers on one holdout.

    ``a[i]`` and ``b[i]`` are 1 when the champion (``a``) or the challenger (``b``) got
    example ``i`` right. Only discordant examples matter: ``n_b`` where only ``b`` is right,
    ``n_a`` where only ``a`` is. With fewer than ``exact_below`` discordant examples the
    p-value is the exact ``scipy.stats.binomtest(n_b, n_a + n_b, 0.5)``; otherwise it is the
    chi-square ``(|n_b - n_a| - 1)² / (n_a + n_b)`` with continuity correction on 1 degree
    of freedom. ``effect`` is ``accuracy_b - accuracy_a`` with a Wald interval for paired
    proportions.

    References
    ----------
    McNemar, Q. (1947). Psychometrika 12, 153-157. Agrees with statsmodels'
    ``mcnemar(table, exact=..., correction=True)``.

    Examples
    --------
    >>> a = [1, 1, 0, 1, 0, 1, 1, 0, 1, 1]
    >>> b = [1, 1, 1, 1, 1, 1, 1, 1, 0, 1]
    >>> result = McNemarTest().run(a, b)
    >>> round(result.effect, 2), round(result.p_value, 4)
    (0.2, 0.625)
    """

    name: ClassVar[str] = "mcnemar"

    def __init__(self, exact_below: int = 25) -> None:
        self.exact_below = check_int("McNemarTest", "exact_below", exact_below, 0)

    def run(self, a: Any, b: Any, *, alpha: float = 0.05) -> StatResult:
        """Compare the correctness vectors ``a`` and ``b``; see the class docstring."""
        from scipy import stats

        alpha = check_alpha("McNemarTest", alpha)
        right_a = check_sample("McNemarTest", "a", a, minimum=1)
        right_b = check_sample("McNemarTest", "b", b, minimum=1)
        for name, array in (("a", right_a), ("b", right_b)):
            if not np.all((array == 0) | (array == 1)) or array.size != right_a.size:
                raise InvalidInput(
                    f"The {name!r} argument of McNemarTest must be 0/1 correctness with one "
                    f"entry per holdout example, as long as 'a'. Got {a if name == 'a' else b!r} "
                    "instead."
                )
        n = right_a.size
        only_b = int(np.sum((right_b == 1) & (right_a == 0)))
        only_a = int(np.sum((right_a == 1) & (right_b == 0)))
        discordant = only_a + only_b
        if discordant == 0:
            statistic, p_value = 0.0, 1.0
        elif discordant < self.exact_below:
            statistic = float(min(only_a, only_b))
            p_value = float(stats.binomtest(only_b, discordant, 0.5).pvalue)
        else:
            statistic = (abs(only_b - only_a) - 1.0) ** 2 / discordant
            p_value = float(stats.chi2.sf(statistic, 1))
        effect = (only_b - only_a) / n
        se = math.sqrt(max(discordant - (only_b - only_a) ** 2 / n, 0.0)) / n
        half = float(stats.norm.ppf(1.0 - alpha / 2.0)) * se
        return StatResult(
            statistic=statistic,
            p_value=min(1.0, p_value),
            ci=(effect - half, effect + half),
            effect=effect,
            method="mcnemar",
            alpha=alpha,
        )

    def example_arms(self, seed: int) -> tuple[Arrays, Arrays]:
        rng = np.random.default_rng(seed)
        return (
            rng.binomial(1, 0.80, 300).astype(np.float64),
            rng.binomial(1, 0.85, 300).astype(np.float64),
        )

    def reference_case(self, seed: int) -> ReferenceCase | None:
        """The exact test: ``scipy.stats.binomtest`` of the discordant examples at 1/2.

        A small holdout keeps the discordant examples under ``exact_below``; the
        chi-square branch has no SciPy counterpart (statsmodels' ``mcnemar`` is one).
        """
        from scipy import stats

        rng = np.random.default_rng(seed)
        right_a = rng.binomial(1, 0.8, 60)
        flipped = rng.binomial(1, 0.12, 60).astype(bool)
        right_b = np.where(flipped, 1 - right_a, right_a)
        only_b = int(np.count_nonzero((right_b == 1) & (right_a == 0)))
        discordant = int(np.count_nonzero(right_a != right_b))
        if not 0 < discordant < self.exact_below:
            return None
        return ReferenceCase(
            right_a.astype(np.float64),
            right_b.astype(np.float64),
            "scipy.stats.binomtest(only_b, discordant, 0.5)",
            p_value=float(stats.binomtest(only_b, discordant, 0.5).pvalue),
        )


def _pair(name: str, value: Any, metric: str) -> tuple[Arrays, Arrays]:
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise InvalidInput(
            f"The {name!r} argument of PairedBootstrapTest must be a pair (y_true, y_score) "
            f"on the shared holdout. Got {value!r} instead."
        )
    y_true, y_score = np.asarray(value[0], dtype=np.float64), np.asarray(value[1], dtype=np.float64)
    ndim = 2 if metric == "ndcg" else 1
    if y_true.shape != y_score.shape or y_true.ndim != ndim or len(y_true) < 2:
        raise InvalidInput(
            f"The {name!r} argument of PairedBootstrapTest must hold y_true and y_score of the "
            f"same {ndim}-D shape with at least 2 rows for metric {metric!r}. Got shapes "
            f"{y_true.shape} and {y_score.shape} instead."
        )
    return y_true, y_score


class PairedBootstrapTest:
    """Paired bootstrap of ``metric(b) - metric(a)`` on one holdout.

    Each arm is ``(y_true, y_score)`` with the same ``y_true``; for ``"ndcg"`` the arrays are
    2-D, one row per query, as ``sklearn.metrics.ndcg_score`` takes them. Every resample draws
    the same rows for both versions, which keeps their correlation and makes the test far
    more sensitive than comparing two separate intervals. ``effect`` is the difference on the
    full holdout (for ``"rmse"`` a negative effect favours ``b``), ``ci`` the percentile
    interval and ``p_value`` twice the smaller share of resampled differences on either side
    of 0. Resamples where the metric is undefined (one class only, for AUC) are skipped.

    Parameters
    ----------
    metric
        ``"auc"``, ``"ndcg"`` or ``"rmse"`` (from ``sklearn.metrics``).
    n_resamples
        Bootstrap resamples.
    seed
        Seed of the ``numpy.random.Generator``.

    References
    ----------
    Efron and Tibshirani (1993), An Introduction to the Bootstrap, ch. 16; Koehn (2004),
    Statistical Significance Tests for Machine Translation Evaluation, EMNLP.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(2)
    >>> y = rng.binomial(1, 0.4, 400)
    >>> a = (y, y + rng.normal(0, 1.0, 400))
    >>> b = (y, y + rng.normal(0, 0.7, 400))
    >>> result = PairedBootstrapTest(n_resamples=500, seed=0).run(a, b)
    >>> round(result.effect, 4), result.p_value
    (0.0796, 0.008)
    """

    name: ClassVar[str] = "paired_bootstrap"
    example_params: ClassVar[dict[str, Any]] = {"n_resamples": 100}
    """Parameters that keep the contract checks fast."""

    def __init__(self, metric: str = "auc", n_resamples: int = 1000, seed: int = 0) -> None:
        self.metric = check_choice("PairedBootstrapTest", "metric", metric, sorted(PAIRED_METRICS))
        self.n_resamples = check_int("PairedBootstrapTest", "n_resamples", n_resamples, 100)
        self.seed = check_int("PairedBootstrapTest", "seed", seed, 0)

    def run(self, a: Any, b: Any, *, alpha: float = 0.05) -> StatResult:
        """Compare the two versions' metric on the shared holdout; see the class docstring."""
        alpha = check_alpha("PairedBootstrapTest", alpha)
        y_true, score_a = _pair("a", a, self.metric)
        y_other, score_b = _pair("b", b, self.metric)
        if not np.array_equal(y_true, y_other):
            raise InvalidInput(
                "The 'a' and 'b' arguments of PairedBootstrapTest must share y_true: a paired "
                "comparison scores both versions on the same holdout. Got different y_true."
            )
        if self.metric == "auc" and not (
            np.all((y_true == 0) | (y_true == 1)) and np.unique(y_true).size == 2
        ):
            raise InvalidInput(
                "The holdout does not suit metric 'auc' in PairedBootstrapTest: y_true must "
                f"hold both classes 0 and 1. Got classes {np.unique(y_true).tolist()!r} instead."
            )
        score = PAIRED_METRICS[self.metric]
        try:
            effect = score(y_true, score_b) - score(y_true, score_a)
        except ValueError as exc:
            raise InvalidInput(
                f"The holdout does not suit metric {self.metric!r} in PairedBootstrapTest: {exc}"
            ) from None
        deltas = self._resampled_differences(y_true, score_a, score_b)
        lower, upper = np.quantile(deltas, [alpha / 2.0, 1.0 - alpha / 2.0])
        below, above = float(np.mean(deltas <= 0.0)), float(np.mean(deltas >= 0.0))
        p_value = min(1.0, 2.0 * min(below, above))
        return StatResult(
            statistic=effect / float(deltas.std(ddof=1)) if deltas.std() > 0 else 0.0,
            p_value=float(p_value),
            ci=(float(lower), float(upper)),
            effect=effect,
            method=f"paired_bootstrap[{self.metric}]",
            alpha=alpha,
        )

    def _resampled_differences(self, y_true: Arrays, score_a: Arrays, score_b: Arrays) -> Arrays:
        """``metric(b) - metric(a)`` on each resample of the holdout's rows."""
        rng = np.random.default_rng(self.seed)
        n = len(y_true)
        differences = []
        if self.metric == "auc":  # not a mean over rows: scikit-learn scores each resample
            for _ in range(self.n_resamples):
                rows = rng.integers(0, n, n)
                if np.unique(y_true[rows]).size < 2:
                    continue
                differences.append(
                    _auc(y_true[rows], score_b[rows]) - _auc(y_true[rows], score_a[rows])
                )
            return np.asarray(differences)
        # RMSE and NDCG are means over rows (of squared errors; of each query's NDCG, which
        # ndcg_score averages), so a resample's metric comes from the drawn rows' terms and
        # scikit-learn is called once per query, not twice per resample.
        terms_a, terms_b = (
            _row_terms(self.metric, y_true, score_a),
            _row_terms(self.metric, y_true, score_b),
        )
        finish = np.sqrt if self.metric == "rmse" else float
        for _ in range(self.n_resamples):
            rows = rng.integers(0, n, n)
            differences.append(finish(terms_b[rows].mean()) - finish(terms_a[rows].mean()))
        return np.asarray(differences, dtype=np.float64)

    def example_arms(self, seed: int) -> tuple[tuple[Arrays, Arrays], tuple[Arrays, Arrays]]:
        rng = np.random.default_rng(seed)
        y = rng.binomial(1, 0.4, 200).astype(np.float64)
        return (y, y + rng.normal(0, 1.2, 200)), (y, y + rng.normal(0, 1.0, 200))
