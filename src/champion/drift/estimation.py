"""Estimated performance of a classifier endpoint per time bucket, beside the realised one.

For each bucket of ``[start, end)``: the expected accuracy, ROC AUC and F1 of every
prediction the version served (``cbpe.estimate`` with the version's labelled reference), and,
once labels arrive, the realised metrics of the labelled predictions (scikit-learn's) next
to the estimate *for those same predictions* and its interval. A realised metric outside
that interval is ``flagged``: the estimate's assumptions (no concept drift, calibration
still true) no longer hold, or something else changed the outcome.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa

from champion.drift.cbpe import DRAWS, METRICS, Estimate, FloatArray, estimate
from champion.drift.concept import labelled_errors
from champion.drift.labelled import LabelledReference, get_labelled, label_text, served_scores
from champion.errors import InvalidInput
from champion.events.tables import predictions
from champion.registry import VersionKey
from champion.types import Json

__all__ = ["MAX_BUCKETS", "EstimatedBucket", "EstimatedPerformance", "estimated_performance"]

MAX_BUCKETS = 500
"""Buckets in one answer: each simulates its interval."""


@dataclass(frozen=True)
class EstimatedBucket:
    """One bucket: the estimate over what was served, and the realised metrics on labels."""

    start: datetime
    end: datetime
    estimated: Estimate
    labelled: int = 0
    realised: dict[str, float | None] = field(default_factory=lambda: dict.fromkeys(METRICS))
    expected_on_labelled: Estimate | None = None

    @property
    def flagged(self) -> list[str]:
        """The metrics whose realised value left the interval expected for those labels."""
        expected = self.expected_on_labelled
        if expected is None:
            return []
        found = []
        for name in METRICS:
            value, low, high = self.realised[name], expected.low[name], expected.high[name]
            if value is not None and low is not None and high is not None:
                if not low <= value <= high:
                    found.append(name)
        return found

    def to_json(self) -> dict[str, Any]:
        on_labelled = self.expected_on_labelled
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "predictions": self.estimated.n,
            "estimated": self.estimated.to_json(),
            "labelled": self.labelled,
            "realised": self.realised,
            "expected_on_labelled": None if on_labelled is None else on_labelled.to_json(),
            "flagged": self.flagged,
        }


@dataclass(frozen=True)
class EstimatedPerformance:
    endpoint: str
    version: VersionKey
    start: datetime
    end: datetime
    reference: LabelledReference
    overall: EstimatedBucket
    buckets: tuple[EstimatedBucket, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "version": str(self.version),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "reference": self.reference.to_json(),
            "overall": self.overall.to_json(),
            "buckets": [b.to_json() for b in self.buckets],
        }


def _served(
    engine: sa.Engine, endpoint: str, start: datetime, end: datetime, version: VersionKey
) -> tuple[list[datetime], list[Json]]:
    p = predictions
    query = (
        sa.select(p.c.at, p.c.outputs)
        .where(
            (p.c.endpoint == endpoint) & (p.c.at >= start) & (p.c.at < end)
            & (p.c.kind == "predict") & (p.c.model == version.model)
            & (p.c.version == version.number)
        )
        .order_by(p.c.at)
    )  # fmt: skip
    times: list[datetime] = []
    outputs: list[Json] = []
    with engine.connect() as conn:
        for at, answered in conn.execution_options(yield_per=5_000).execute(query):
            for output in answered or []:
                times.append(at)
                outputs.append(output)
    return times, outputs


def _scores(outputs: list[Json], positive: str) -> tuple[FloatArray, FloatArray]:
    if not outputs:
        return np.zeros(0), np.zeros(0)
    classes, score, predicted = served_scores(outputs)
    if classes[-1] != positive:
        raise InvalidInput(
            f"The served classes {classes!r} differ from those of the labelled reference "
            f"(positive class {positive!r})."
        )
    keep = np.isfinite(score)
    return score[keep], predicted[keep]


def _realised(entries: list[tuple[Json, Json]], positive: str) -> dict[str, float | None]:
    from sklearn.metrics import f1_score, roc_auc_score

    found: dict[str, float | None] = dict.fromkeys(METRICS)
    if not entries:
        return found
    outputs = [output for output, _ in entries]
    truth = np.array([label_text(label) == positive for _, label in entries])
    _, score, predicted = served_scores(outputs)
    found["accuracy"] = float(np.mean(truth == (predicted == 1)))
    found["f1"] = float(f1_score(truth, predicted == 1, zero_division=0.0))
    keep = np.isfinite(score)
    if 0 < truth[keep].sum() < keep.sum():
        found["auc"] = float(roc_auc_score(truth[keep], score[keep]))
    return found


def estimated_performance(
    engine: sa.Engine,
    endpoint: str,
    start: datetime,
    end: datetime,
    *,
    bucket: timedelta,
    version: VersionKey,
    seed: int = 0,
    draws: int = DRAWS,
    with_labels: bool = True,
) -> EstimatedPerformance:
    """Estimated and realised performance of ``version`` on ``endpoint`` over
    ``[start, end)`` in buckets of ``bucket`` (see the module docstring).

    ``draws`` simulated label sets give each interval (0: point estimates only);
    ``with_labels=False`` skips reading the labels (no realised metrics, no flags).
    Raises ``NotFound`` when the version has no labelled reference, ``InvalidInput`` when it
    is not a binary classifier or the window holds too many buckets.
    """
    reference = get_labelled(engine, version)
    count = math.ceil((end - start) / bucket)
    if count > MAX_BUCKETS:
        raise InvalidInput(
            f"The window holds {count:,} buckets of {bucket}; at most {MAX_BUCKETS:,}: use a "
            "wider 'bucket' or a shorter window."
        )
    times, outputs = _served(engine, endpoint, start, end, version)
    served: list[list[Json]] = [[] for _ in range(count)]
    for at, output in zip(times, outputs, strict=True):
        served[min(int((at - start) / bucket), count - 1)].append(output)
    labelled: list[list[tuple[Json, Json]]] = [[] for _ in range(count)]
    for item in labelled_errors(engine, endpoint, start, end, version) if with_labels else ():
        labelled[min(int((item.at - start) / bucket), count - 1)].append((item.output, item.label))

    def judge(
        first: datetime, last: datetime, shown: list[Json], known: list[tuple[Json, Json]]
    ) -> EstimatedBucket:
        score, predicted = _scores(shown, reference.positive)
        result = estimate(reference.calibration, score, predicted, draws=draws, seed=seed)
        if not known:
            return EstimatedBucket(first, last, result)
        on_labelled = estimate(
            reference.calibration, *_scores([o for o, _ in known], reference.positive),
            draws=draws, seed=seed,
        )  # fmt: skip
        return EstimatedBucket(
            first, last, result, len(known), _realised(known, reference.positive), on_labelled
        )

    buckets = tuple(
        judge(start + i * bucket, min(start + (i + 1) * bucket, end), served[i], labelled[i])
        for i in range(count)
    )
    overall = judge(start, end, outputs, [e for entries in labelled for e in entries])
    return EstimatedPerformance(endpoint, version, start, end, reference, overall, buckets)
