"""Confidence-based performance estimation (CBPE): a binary classifier's accuracy, ROC AUC
and F1 over a window of served predictions, before any label arrives.

The version's scores are first calibrated on its labelled reference (isotonic regression of
the true outcome on the positive class's score, ``Calibration.fit``): the calibrated score
``p`` of an instance is then the chance that its true label is positive. With ``ŷ`` the
served label (1 when it is the positive class), every cell of the confusion matrix has an
expectation (as NannyML's CBPE computes it):

* expected TP = Σ p·ŷ, FP = Σ (1 - p)·ŷ, FN = Σ p·(1 - ŷ), TN = Σ (1 - p)·(1 - ŷ);
* expected accuracy = (TP + TN) / n, expected F1 = 2·TP / (2·TP + FP + FN);
* expected ROC AUC: every distinct raw score is a threshold; above it the expected true
  and false positives are the running sums of ``p`` and ``1 - p`` in falling score order,
  which give the expected ROC curve, integrated with the trapezoid rule.

The interval says where the *realised* metric of the window should fall if the assumptions
hold: labels are drawn ``draws`` times (seeded), each time from the probabilities of one of
the calibration's bootstrap curves (``Calibration.resampled``), each draw's metrics computed
exactly, and the 2.5 and 97.5 percentiles kept. It reflects the window's size and the
calibration's own sampling error (how many labelled reference rows it was fitted on).

Assumptions: the relation between inputs and outcome is the reference's (no concept drift)
and the calibration holds for the served population (covariate shift is fine as long as
the calibration curve stays true where the new data lies). A realised metric outside the
interval once labels arrive says one of them broke.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias, cast

import numpy as np
from numpy.typing import NDArray

from champion.errors import InvalidInput

__all__ = ["DRAWS", "METRICS", "Calibration", "Estimate", "estimate", "expected_auc"]

FloatArray: TypeAlias = NDArray[np.float64]

METRICS = ("accuracy", "auc", "f1")
DRAWS = 400
"""Simulated label sets behind each interval."""
MIN_REFERENCE = 50
"""Labelled reference rows needed to fit a calibration, with both outcomes present."""
RESAMPLES = 40
"""Bootstrap calibration curves kept for the intervals."""
GRID = 200
"""Knots (score quantiles of the labelled reference) the bootstrap curves are kept on."""


@dataclass(frozen=True)
class Calibration:
    """An isotonic calibration curve of the positive class's score, and its uncertainty.

    ``scores`` and ``probabilities`` are the curve's knots (increasing scores); in between
    the curve is linear and outside it is flat, as ``IsotonicRegression(out_of_bounds="clip")``
    predicts. ``resampled`` holds the curves fitted on ``RESAMPLES`` bootstrap resamples of
    the labelled rows, each evaluated on the common knots ``grid``: the spread between them
    is the calibration's own sampling error, which the intervals include.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> score = rng.uniform(size=2_000)
    >>> truth = rng.uniform(size=2_000) < score**2          # over-confident scores
    >>> calibration = Calibration.fit(score, truth)
    >>> [round(float(p), 1) for p in calibration.apply(np.array([0.1, 0.5, 0.9]))]
    [0.0, 0.3, 0.8]
    """

    scores: tuple[float, ...]
    probabilities: tuple[float, ...]
    rows: int
    positives: int
    grid: tuple[float, ...] = ()
    resampled: tuple[tuple[float, ...], ...] = ()

    @classmethod
    def fit(
        cls,
        score: Sequence[float] | FloatArray,
        truth: Sequence[bool] | Any,
        *,
        resamples: int = RESAMPLES,
        seed: int = 0,
    ) -> Calibration:
        """Isotonic regression of ``truth`` (0/1) on ``score`` (scikit-learn's), and on
        ``resamples`` bootstrap resamples of the rows (seeded)."""
        from sklearn.isotonic import IsotonicRegression

        x = np.asarray(score, dtype=np.float64)
        y = np.asarray(truth, dtype=np.float64)
        if x.shape != y.shape or x.ndim != 1:
            raise InvalidInput(
                f"Calibration needs one score per label; got {x.shape} scores, {y.shape} labels."
            )
        positives = int(y.sum())
        if len(x) < MIN_REFERENCE or positives in (0, len(x)):
            raise InvalidInput(
                f"The labelled reference has {len(x)} rows with {positives} positive: "
                f"calibration needs at least {MIN_REFERENCE} rows and both outcomes."
            )

        def isotonic(xs: FloatArray, ys: FloatArray) -> IsotonicRegression:
            return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(xs, ys)

        model = isotonic(x, y)
        grid = np.unique(np.quantile(x, np.linspace(0, 1, GRID)))
        rng = np.random.default_rng(seed)
        resampled = []
        for _ in range(resamples):
            picked = rng.integers(len(x), size=len(x))
            curve = isotonic(x[picked], y[picked]).predict(grid)
            resampled.append(tuple(round(float(v), 6) for v in curve))
        return cls(
            tuple(float(v) for v in model.X_thresholds_),
            tuple(float(v) for v in model.y_thresholds_),
            len(x),
            positives,
            tuple(float(v) for v in grid),
            tuple(resampled),
        )

    def apply(self, score: FloatArray) -> FloatArray:
        """The calibrated probability of the positive class for each score."""
        return cast(FloatArray, np.interp(score, self.scores, self.probabilities))

    def apply_resampled(self, score: FloatArray) -> FloatArray:
        """One row per bootstrap curve: the probabilities it gives (none: ``apply``'s)."""
        if not self.resampled:
            return self.apply(score)[np.newaxis, :]
        return np.stack([np.interp(score, self.grid, curve) for curve in self.resampled])

    def to_dict(self) -> dict[str, Any]:
        return {
            "scores": list(self.scores),
            "probabilities": list(self.probabilities),
            "rows": self.rows,
            "positives": self.positives,
            "grid": list(self.grid),
            "resampled": [list(curve) for curve in self.resampled],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        return cls(
            tuple(data["scores"]),
            tuple(data["probabilities"]),
            data["rows"],
            data["positives"],
            tuple(data.get("grid", ())),
            tuple(tuple(curve) for curve in data.get("resampled", ())),
        )


@dataclass(frozen=True)
class Estimate:
    """Expected metrics of one window and where its realised metrics should fall."""

    n: int
    metrics: dict[str, float | None]
    low: dict[str, float | None]
    high: dict[str, float | None]

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            **{
                name: {"value": self.metrics[name], "low": self.low[name], "high": self.high[name]}
                for name in METRICS
            },
        }


def expected_auc(score: FloatArray, probability: FloatArray) -> float | None:
    """The expected ROC AUC of ``score`` when each instance is positive with ``probability``.

    >>> round(expected_auc(np.array([0.9, 0.4, 0.2]), np.array([1.0, 0.5, 0.0])), 4)
    0.9444

    It is a ratio of expectations (NannyML's), not the expectation of the ratio: here every
    draw of the labels has an AUC of 1.
    """
    order = np.argsort(-score, kind="stable")
    s, p = score[order], probability[order]
    positives, negatives = float(p.sum()), float((1 - p).sum())
    if positives <= 0 or negatives <= 0:
        return None
    # Instances with equal scores share one threshold: keep the last running sum of each run.
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tpr = np.r_[0.0, np.cumsum(p)[last] / positives]
    fpr = np.r_[0.0, np.cumsum(1 - p)[last] / negatives]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def _expected(probability: FloatArray, predicted: FloatArray) -> tuple[float, float | None]:
    tp = float(probability @ predicted)
    fp = float((1 - probability) @ predicted)
    fn = float(probability @ (1 - predicted))
    tn = len(probability) - tp - fp - fn
    denominator = 2 * tp + fp + fn
    return (tp + tn) / len(probability), (2 * tp / denominator if denominator > 0 else None)


def _simulated(
    score: FloatArray, curves: FloatArray, predicted: FloatArray, draws: int, seed: int
) -> dict[str, FloatArray]:
    rng = np.random.default_rng(seed)
    # Draw d takes its probabilities from bootstrap curve d mod the number of curves.
    probability = curves[np.arange(draws) % len(curves)]
    truth = (rng.uniform(size=(draws, len(score))) < probability).astype(np.float64)
    accuracy = (truth @ predicted + (1 - truth) @ (1 - predicted)) / len(score)
    tp = truth @ predicted
    denominator = predicted.sum() + truth.sum(axis=1)  # (TP + FP) + (TP + FN)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(denominator > 0, 2 * tp / denominator, np.nan)
    # AUC from the Mann-Whitney U on the score's average ranks (ties count a half).
    from scipy.stats import rankdata

    ranks = rankdata(score)
    n1 = truth.sum(axis=1)
    n0 = len(score) - n1
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = np.where((n1 > 0) & (n0 > 0), (truth @ ranks - n1 * (n1 + 1) / 2) / (n1 * n0), np.nan)
    return {"accuracy": accuracy, "auc": auc, "f1": f1}


def estimate(
    calibration: Calibration,
    score: Sequence[float] | FloatArray,
    predicted: Sequence[bool] | Any,
    *,
    draws: int = DRAWS,
    seed: int = 0,
) -> Estimate:
    """Expected accuracy, ROC AUC and F1 of one window (see the module docstring).

    Parameters
    ----------
    calibration
        Fitted on the version's labelled reference.
    score
        The positive class's probability as the model served it, per instance.
    predicted
        Whether the served label was the positive class, per instance.
    draws, seed
        Simulated label sets behind the interval (0: no interval), and their seed.

    Examples
    --------
    >>> calibration = Calibration((0.0, 1.0), (0.0, 1.0), 100, 50)   # already calibrated
    >>> result = estimate(calibration, [0.9, 0.8, 0.3], [True, True, False], draws=0)
    >>> {k: round(v, 4) for k, v in result.metrics.items() if v is not None}
    {'accuracy': 0.8, 'auc': 0.8, 'f1': 0.85}

    References
    ----------
    NannyML, "Confidence-based Performance Estimation (CBPE)", How it works.
    """
    s = np.asarray(score, dtype=np.float64)
    y_hat = np.asarray(predicted, dtype=np.float64)
    if s.shape != y_hat.shape or s.ndim != 1:
        raise InvalidInput(
            f"Estimation needs one served label per score; got {s.shape} and {y_hat.shape}."
        )
    empty: dict[str, float | None] = dict.fromkeys(METRICS)
    if len(s) == 0:
        return Estimate(0, empty, dict(empty), dict(empty))
    p = calibration.apply(s)
    accuracy, f1 = _expected(p, y_hat)
    metrics: dict[str, float | None] = {
        "accuracy": accuracy,
        "auc": expected_auc(s, p),
        "f1": f1,
    }
    low, high = dict(empty), dict(empty)
    if draws > 0:
        curves = calibration.apply_resampled(s)
        for name, values in _simulated(s, curves, y_hat, draws, seed).items():
            finite = values[np.isfinite(values)]
            if len(finite) >= draws // 2:
                low[name], high[name] = (float(v) for v in np.percentile(finite, [2.5, 97.5]))
    return Estimate(len(s), metrics, low, high)
