"""Concept drift: how well the model does once labels arrive, and when that changed.

Predictions are joined with their ``label`` feedback in SQL (the first label of each
request, time-ordered; folded labels from their copies in ``labelled_predictions``, so the
history outlives the raw rows) and streamed in chunks. For each labelled instance:

* classifiers: the error is 1 when the served label differs from the true one (compared as
  text), else 0; per time bucket the accuracy, the AUC and the log loss of the positive
  class (the last of the sorted probability keys, ``"1"`` for 0/1 labels);
* regressors: the error is the absolute error; per bucket the MAE and RMSE.

The error stream, in time order, goes through online change detectors (default: DDM for
classifiers, Page-Hinkley on the error otherwise, and ADWIN on both); each detection is an
event with the index in the stream, the request and its time.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa

from champion.drift.streams import WarningDetector, default_stream_detectors
from champion.drift.streams.base import StreamSpec
from champion.errors import InvalidInput
from champion.events.aggregates import Scope
from champion.events.arms import labelled
from champion.events.compacted import require_units
from champion.plugins import Registry
from champion.registry import VersionKey
from champion.types import Json

__all__ = ["Detection", "Performance", "PerformanceBucket", "labelled_errors", "performance"]


@dataclass(frozen=True)
class Detection:
    """A change (or a warning) an online detector found in the error stream."""

    detector: str
    kind: str
    index: int
    at: datetime
    request_id: str

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "at": self.at.isoformat()}


@dataclass(frozen=True)
class PerformanceBucket:
    start: datetime
    end: datetime
    n: int
    metrics: dict[str, float | None]

    def to_json(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "n": self.n,
            **self.metrics,
        }


@dataclass(frozen=True)
class Performance:
    """Performance per time bucket over a window, overall, and the detections."""

    endpoint: str
    kind: str
    start: datetime
    end: datetime
    n: int
    overall: dict[str, float | None]
    buckets: tuple[PerformanceBucket, ...]
    detections: tuple[Detection, ...] = field(default=())

    @property
    def error_rate(self) -> float | None:
        """Share of wrong answers (classifiers) or the mean absolute error (regressors)."""
        key = "error_rate" if self.kind == "classifier" else "mae"
        return self.overall.get(key)

    def to_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "kind": self.kind,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "labelled": self.n,
            "overall": self.overall,
            "buckets": [b.to_json() for b in self.buckets],
            "detections": [d.to_json() for d in self.detections],
        }


@dataclass(frozen=True)
class _Labelled:
    at: datetime
    request_id: str
    output: Json
    label: Json


MAX_BUCKETS = 10_000
"""Buckets in one performance answer: each is a point of its timeline."""


def labelled_errors(
    engine: sa.Engine,
    endpoint: str,
    start: datetime,
    end: datetime,
    version: VersionKey | None = None,
    chunk: int = 5_000,
) -> Iterator[_Labelled]:
    """Every labelled served instance of ``[start, end)`` in time order, streamed."""
    scope = Scope(
        endpoint,
        start=start,
        end=end,
        model=None if version is None else version.model,
        version=None if version is None else version.number,
    )
    rows = labelled(scope).subquery()
    first_label = (
        sa.select(rows.c.request_id, sa.func.min(rows.c.event_id).label("event_id"))
        .group_by(rows.c.request_id)
        .subquery()
    )
    query = (
        sa.select(rows.c.at, rows.c.request_id, rows.c.outputs, rows.c.label)
        .join(
            first_label,
            (first_label.c.request_id == rows.c.request_id)
            & (first_label.c.event_id == rows.c.event_id),
        )
        .order_by(rows.c.at, rows.c.request_id)
    )
    with engine.connect() as conn:
        require_units(conn, endpoint, start, end, "Performance from labels")
        for row in conn.execution_options(yield_per=chunk).execute(query):
            outputs = row.outputs or []
            labels = row.label if isinstance(row.label, list) and len(outputs) > 1 else [row.label]
            for output, label in zip(outputs, labels, strict=False):
                if label is not None:
                    yield _Labelled(row.at, row.request_id, output, label)


def _predicted(output: Json) -> tuple[Json, dict[str, float] | None]:
    if isinstance(output, dict):
        return output.get("label"), output.get("probabilities")
    return output, None


def performance(
    engine: sa.Engine,
    endpoint: str,
    start: datetime,
    end: datetime,
    *,
    kind: str,
    bucket: timedelta,
    version: VersionKey | None = None,
    detectors: Sequence[str] | None = None,
    registry: Registry[StreamSpec] | None = None,
) -> Performance:
    """Performance of ``endpoint`` over ``[start, end)`` in buckets, and change detections."""
    if kind not in ("classifier", "regressor"):
        raise InvalidInput(f"Performance needs a classifier or a regressor, not a {kind}.")
    registry = registry or default_stream_detectors()
    names = (
        list(detectors)
        if detectors is not None
        else (["ddm", "adwin"] if kind == "classifier" else ["page_hinkley", "adwin"])
    )
    specs = [registry.get(name) for name in names]
    if kind != "classifier" and any(s.binary for s in specs):
        binary = [s.name for s in specs if s.binary]
        raise InvalidInput(f"Detectors {binary!r} take a 0/1 error and need a classifier.")
    count = math.ceil((end - start) / bucket)
    if count > MAX_BUCKETS:
        raise InvalidInput(
            f"The window holds {count:,} buckets of {bucket}; at most {MAX_BUCKETS:,}: use a "
            "wider 'bucket' or a shorter window."
        )
    running = [(s.name, s.build()) for s in specs]
    detections: list[Detection] = []
    per_bucket: list[list[tuple[float, Json, dict[str, float] | None, Json]]] = [
        [] for _ in range(count)
    ]
    everything: list[tuple[float, Json, dict[str, float] | None, Json]] = []
    for index, item in enumerate(labelled_errors(engine, endpoint, start, end, version)):
        predicted, probabilities = _predicted(item.output)
        if kind == "classifier":
            error = float(str(predicted) != str(item.label))
        else:
            error = abs(float(predicted) - float(item.label))
        entry = (error, predicted, probabilities, item.label)
        per_bucket[min(int((item.at - start) / bucket), count - 1)].append(entry)
        everything.append(entry)
        for name, detector in running:
            detector.update(error)
            if isinstance(detector, WarningDetector) and detector.warning_detected:
                detections.append(Detection(name, "warning", index, item.at, item.request_id))
            if detector.drift_detected:
                detections.append(Detection(name, "drift", index, item.at, item.request_id))
    buckets = tuple(
        PerformanceBucket(
            start + i * bucket,
            min(start + (i + 1) * bucket, end),
            len(entries),
            _metrics(kind, entries),
        )
        for i, entries in enumerate(per_bucket)
    )
    return Performance(
        endpoint, kind, start, end, len(everything), _metrics(kind, everything), buckets,
        tuple(_first_warnings(detections)),
    )  # fmt: skip


def _first_warnings(detections: list[Detection]) -> list[Detection]:
    # A warning holds for many values in a row; keep the first of each run per detector.
    kept: list[Detection] = []
    last: dict[str, Detection] = {}
    for d in detections:
        previous = last.get(d.detector)
        if (
            d.kind == "warning"
            and previous is not None
            and previous.kind == "warning"
            and previous.index == d.index - 1
        ):
            last[d.detector] = d
            continue
        kept.append(d)
        last[d.detector] = d
    return kept


def _metrics(
    kind: str, entries: list[tuple[float, Json, dict[str, float] | None, Json]]
) -> dict[str, float | None]:
    if not entries:
        return (
            {"error_rate": None, "accuracy": None, "auc": None, "log_loss": None}
            if kind == "classifier"
            else {"mae": None, "rmse": None}
        )
    errors = np.array([e[0] for e in entries])
    if kind != "classifier":
        return {"mae": float(errors.mean()), "rmse": float(np.sqrt(np.mean(errors**2)))}
    metrics: dict[str, float | None] = {
        "error_rate": float(errors.mean()),
        "accuracy": float(1 - errors.mean()),
        "auc": None,
        "log_loss": None,
    }
    from sklearn.metrics import log_loss, roc_auc_score

    with_probabilities = [e for e in entries if e[2]]
    if with_probabilities:
        positive = sorted(with_probabilities[0][2] or {})[-1]
        truth = np.array([str(e[3]) == positive for e in with_probabilities])
        score = np.array([float((e[2] or {}).get(positive, 0.0)) for e in with_probabilities])
        if 0 < truth.sum() < len(truth):
            metrics["auc"] = float(roc_auc_score(truth, score))
            metrics["log_loss"] = float(
                log_loss(truth, np.clip(score, 1e-15, 1 - 1e-15), labels=[False, True])
            )
    return metrics
