"""Label metrics of the predictions that got labels, and NDCG@k of rankings, by scikit-learn.

Reported per arm: AUC, F1, accuracy, log loss and RMSE (``sklearn.metrics``) on every joined
label row. For decisions, the metrics that are means over requests (accuracy, log loss,
squared error, NDCG@k) are also summed per unit, so the same unit-level tests as the event
metrics apply to them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa

from champion.evaluation.stattests import RatioSummary
from champion.events.arms import ArmWindow, clicked_positions, ranked_requests

__all__ = ["LabelScores", "label_of", "label_summaries", "ndcg_summaries", "score_of"]

Array = npt.NDArray[np.float64]
_POSITIVE = {"1", "1.0", "true", "yes"}
_NEGATIVE = {"0", "0.0", "false", "no"}
_SCORE_KEYS = ("score", "probability", "prediction", "value")


def score_of(output: Any) -> float | None:
    """The number a prediction output stands for: the positive class's probability
    (``{"probabilities": {"0": 0.3, "1": 0.7}}`` → 0.7), a ``score``/``probability``/
    ``prediction``/``value`` field, or the output itself if it is a number.

    Examples
    --------
    >>> score_of({"label": 1, "probabilities": {"0": 0.3, "1": 0.7}}), score_of(2.5)
    (0.7, 2.5)
    """
    if isinstance(output, bool):
        return float(output)
    if isinstance(output, int | float):
        return float(output)
    if not isinstance(output, Mapping):
        return None
    probabilities = output.get("probabilities")
    if isinstance(probabilities, Mapping):
        for key, value in probabilities.items():
            if str(key).lower() in _POSITIVE:
                return float(value)
        others = [v for k, v in probabilities.items() if str(k).lower() not in _NEGATIVE]
        return float(others[0]) if len(probabilities) == 2 and len(others) == 1 else None
    for key in _SCORE_KEYS:
        if isinstance(output.get(key), int | float):
            return float(output[key])
    return None


def label_of(label: Any) -> float | None:
    """A label as a number: booleans and yes/no words become 1/0."""
    if isinstance(label, bool | int | float):
        return float(label)
    if isinstance(label, str):
        text = label.strip().lower()
        if text in _POSITIVE:
            return 1.0
        if text in _NEGATIVE:
            return 0.0
        try:
            return float(text)
        except ValueError:
            return None
    return None


@dataclass(frozen=True)
class LabelScores:
    """One arm's label metrics: ``report`` for people, ``summaries`` for the tests."""

    report: dict[str, float | None]
    summaries: dict[str, RatioSummary]


def _pairs(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[tuple[str, float, float]]]:
    found: dict[str, list[tuple[str, float, float]]] = defaultdict(list)
    for row in rows:
        outputs, label = row["outputs"], row["label"]
        if not isinstance(outputs, list) or not outputs:
            continue
        labels = label if isinstance(label, list) and len(label) == len(outputs) else [label]
        for output, one in zip(outputs, labels, strict=False):
            y, s = label_of(one), score_of(output)
            if y is not None and s is not None and math.isfinite(y) and math.isfinite(s):
                found[row["arm"]].append((row["unit"], y, s))
    return found


def _per_unit(units: list[str], values: Array) -> RatioSummary:
    names, index = np.unique(np.asarray(units), return_inverse=True)
    x = np.bincount(index, weights=values, minlength=names.size)
    y = np.bincount(index, minlength=names.size).astype(np.float64)
    return RatioSummary.from_values(x, y)


def label_summaries(rows: Iterable[Mapping[str, Any]]) -> dict[str, LabelScores]:
    """Score each arm's joined label rows (arm, unit, outputs, label).

    Classification metrics need 0/1 labels (AUC also both classes) and scores in [0, 1];
    F1 and accuracy threshold the score at 0.5.
    """
    from sklearn import metrics  # late: the server starts about a second faster

    scores = {}
    for arm, pairs in _pairs(rows).items():
        units = [unit for unit, _, _ in pairs]
        y = np.array([label for _, label, _ in pairs])
        s = np.array([score for _, _, score in pairs])
        binary = bool(np.all((y == 0) | (y == 1)))
        probabilistic = binary and bool(np.all((s >= 0) & (s <= 1)))
        report: dict[str, float | None] = {
            "labels": float(y.size),
            "rmse": float(np.sqrt(metrics.mean_squared_error(y, s))),
            "auc": None,
            "f1": None,
            "accuracy": None,
            "log_loss": None,
        }
        summaries = {"squared_error": _per_unit(units, (y - s) ** 2)}
        if probabilistic:
            predicted = (s >= 0.5).astype(np.float64)
            if np.unique(y).size == 2:
                report["auc"] = float(metrics.roc_auc_score(y, s))
            report["f1"] = float(metrics.f1_score(y, predicted, zero_division=0.0))
            report["accuracy"] = float(metrics.accuracy_score(y, predicted))
            report["log_loss"] = float(metrics.log_loss(y, s, labels=[0.0, 1.0]))
            summaries["accuracy"] = _per_unit(units, (predicted == y).astype(np.float64))
            summaries["log_loss"] = _per_unit(units, _log_losses(y, s))
        scores[arm] = LabelScores(report, summaries)
    return scores


def _log_losses(y: Array, s: Array) -> Array:
    """Per-example log loss, clipped as ``sklearn.metrics.log_loss`` clips (float64 eps)."""
    eps = np.finfo(np.float64).eps
    p = np.clip(s, eps, 1 - eps)
    return np.asarray(-(y * np.log(p) + (1 - y) * np.log(1 - p)), dtype=np.float64)


def ndcg_summaries(conn: sa.Connection, window: ArmWindow, k: int) -> dict[str, RatioSummary]:
    """Per arm, the per-unit sums of NDCG@k over ranking requests, clicks as relevance.

    A request without a click scores 0. Each unit's clicked requests are scored with one
    ``sklearn.metrics.ndcg_score`` call on their relevance matrix.
    """
    counts = ranked_requests(conn, window)
    if not counts:
        return {}
    clicked: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    deepest = k
    for arm, unit, request_id, position in clicked_positions(conn, window):
        clicked[(arm, unit)][request_id].append(position)
        deepest = max(deepest, position)
    from sklearn import metrics  # late: the server starts about a second faster

    # Clicks below k count for the ideal ordering, as in sklearn (all shown items judged).
    width = max(deepest, 2)
    descending = np.arange(width, 0, -1, dtype=np.float64)
    per_arm: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    for (arm, unit), requests in sorted(counts.items()):
        total = 0.0
        lists = clicked.get((arm, unit))
        if lists:
            relevance = np.zeros((len(lists), width))
            for row, positions in enumerate(lists.values()):
                relevance[row, np.asarray(positions) - 1] = 1.0
            scores = np.tile(descending, (len(lists), 1))
            total = float(metrics.ndcg_score(relevance, scores, k=k)) * len(lists)
        per_arm[arm][0].append(total)
        per_arm[arm][1].append(float(requests))
    return {arm: RatioSummary.from_values(x, y) for arm, (x, y) in per_arm.items()}
