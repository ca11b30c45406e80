"""Offline comparison of two versions on one holdout, and a new score against its history.

``compare_offline`` answers "is the challenger better than the champion on the same rows?"
with a paired test (McNemar for accuracy, a paired bootstrap for AUC, RMSE and NDCG), never
by comparing two raw numbers. ``check_score_history`` answers "is this score unusual for
this model?" with three rules a gate can read: the raw range of recorded scores, mean ± 2sd
and Tukey's IQR fences.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from champion.errors import InvalidInput
from champion.evaluation.stattests import McNemarTest, PairedBootstrapTest, StatResult
from champion.evaluation.stattests.paired import PAIRED_METRICS
from champion.validation import check_alpha, check_choice, check_float, check_sample

__all__ = [
    "OFFLINE_METRICS",
    "HistoryCheck",
    "HistoryRule",
    "OfflineComparison",
    "check_score_history",
    "compare_offline",
]

OFFLINE_METRICS = {"accuracy": True, "auc": True, "ndcg": True, "rmse": False}
"""Metric → whether higher is better."""


@dataclass(frozen=True)
class OfflineComparison:
    """The challenger against the champion on one holdout, by a paired test."""

    metric: str
    champion: float
    challenger: float
    result: StatResult

    @property
    def verdict(self) -> str:
        """``better``, ``worse`` or ``same`` (no significant difference) for the challenger."""
        if not self.result.significant:
            return "same"
        gain = self.result.effect if OFFLINE_METRICS[self.metric] else -self.result.effect
        return "better" if gain > 0 else "worse"

    def to_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "champion": self.champion,
            "challenger": self.challenger,
            "effect": self.result.effect,
            "ci": None if self.result.ci is None else list(self.result.ci),
            "p_value": self.result.p_value,
            "method": self.result.method,
            "verdict": self.verdict,
        }


def compare_offline(
    y_true: Any,
    champion: Any,
    challenger: Any,
    *,
    metric: str = "auc",
    alpha: float = 0.05,
    threshold: float = 0.5,
    n_resamples: int = 1000,
    seed: int = 0,
) -> OfflineComparison:
    """Compare two versions' scores (or predicted labels) on the same holdout rows.

    ``accuracy`` thresholds scores at ``threshold`` (labels pass through if they are 0/1)
    and runs McNemar's test on per-row correctness; ``auc``, ``rmse`` and ``ndcg`` run a
    paired bootstrap (for ``ndcg`` the arrays are 2-D, one row per query).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(4)
    >>> y = rng.binomial(1, 0.3, 500)
    >>> old, new = y + rng.normal(0, 1.2, 500), y + rng.normal(0, 0.6, 500)
    >>> found = compare_offline(y, old, new, metric="auc", n_resamples=100)
    >>> found.verdict, round(found.challenger - found.champion, 3)
    ('better', 0.148)
    """
    metric = check_choice("compare_offline", "metric", metric, sorted(OFFLINE_METRICS))
    alpha = check_alpha("compare_offline", alpha)
    if metric == "accuracy":
        truth = check_sample("compare_offline", "y_true", y_true, minimum=1)
        scored = [
            check_sample("compare_offline", name, scores, minimum=1)
            for name, scores in (("champion", champion), ("challenger", challenger))
        ]
        if scored[0].size != truth.size or scored[1].size != truth.size:
            raise InvalidInput(
                "The 'champion' and 'challenger' arguments of compare_offline must score every "
                f"holdout row: got {scored[0].size} and {scored[1].size} for {truth.size} rows."
            )
        right = [(_labels(s, threshold) == truth).astype(np.float64) for s in scored]
        result = McNemarTest().run(right[0], right[1], alpha=alpha)
        return OfflineComparison(metric, float(right[0].mean()), float(right[1].mean()), result)
    test = PairedBootstrapTest(metric=metric, n_resamples=n_resamples, seed=seed)
    result = test.run((y_true, champion), (y_true, challenger), alpha=alpha)
    score = _score(metric)
    return OfflineComparison(metric, score(y_true, champion), score(y_true, challenger), result)


def _labels(scores: np.ndarray[Any, Any], threshold: float) -> np.ndarray[Any, Any]:
    if np.all((scores == 0) | (scores == 1)):
        return scores
    return (scores >= threshold).astype(np.float64)


def _score(metric: str) -> Any:
    return lambda y, s: PAIRED_METRICS[metric](np.asarray(y, np.float64), np.asarray(s, np.float64))


@dataclass(frozen=True)
class HistoryRule:
    """One rule's band of usual scores and where the new score falls: ``within``, or
    outside on the ``worse`` or the ``better`` side."""

    low: float
    high: float
    verdict: str


@dataclass(frozen=True)
class HistoryCheck:
    score: float
    history: tuple[float, ...]
    higher_is_better: bool
    rules: dict[str, HistoryRule]
    """``raw`` (the range of recorded scores), ``sigma`` (mean ± k sd), ``iqr`` (Tukey's
    fences Q1 - f IQR, Q3 + f IQR); rules that need more history are left out."""

    @property
    def worse(self) -> bool:
        """True when any rule puts the score outside its band on the worse side."""
        return any(rule.verdict == "worse" for rule in self.rules.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "history": list(self.history),
            "higher_is_better": self.higher_is_better,
            "rules": {name: vars(rule) for name, rule in self.rules.items()},
            "worse": self.worse,
        }


def check_score_history(
    score: float,
    history: Any,
    *,
    higher_is_better: bool = True,
    sigmas: float = 2.0,
    iqr_factor: float = 1.5,
) -> HistoryCheck:
    """Is ``score`` an outlier against the ``history`` of recorded scores?

    The raw rule needs one recorded score, mean ± ``sigmas`` sd (sample standard deviation)
    two, and the IQR fences four.

    Examples
    --------
    >>> found = check_score_history(0.71, [0.80, 0.81, 0.79, 0.82, 0.80])
    >>> found.worse, found.rules["sigma"].verdict, round(found.rules["iqr"].low, 3)
    (True, 'worse', 0.785)
    """
    score = check_float("check_score_history", "score", score, -np.inf, np.inf)
    past = check_sample("check_score_history", "history", history, minimum=1)
    sigmas = check_float("check_score_history", "sigmas", sigmas, 0.0, np.inf)
    iqr_factor = check_float("check_score_history", "iqr_factor", iqr_factor, 0.0, np.inf)
    bands = {"raw": (float(past.min()), float(past.max()))}
    if past.size >= 2:
        mean, sd = float(past.mean()), float(past.std(ddof=1))
        bands["sigma"] = (mean - sigmas * sd, mean + sigmas * sd)
    if past.size >= 4:
        q1, q3 = (float(q) for q in np.quantile(past, [0.25, 0.75]))
        bands["iqr"] = (q1 - iqr_factor * (q3 - q1), q3 + iqr_factor * (q3 - q1))
    rules = {}
    for name, (low, high) in bands.items():
        verdict = "within"
        if score < low:
            verdict = "worse" if higher_is_better else "better"
        elif score > high:
            verdict = "better" if higher_is_better else "worse"
        rules[name] = HistoryRule(low, high, verdict)
    return HistoryCheck(score, tuple(float(v) for v in past), higher_is_better, rules)
