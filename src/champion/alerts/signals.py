"""What a rule can watch: named metrics of an endpoint over a window.

Each is computed from the event log by the drift service; ``None`` means the window has no
data for it (no prediction, no label) and leaves the rule's state as it is.

=====================  =====================================================================
metric                 value over the window
=====================  =====================================================================
``drift_share``        share of the reference's columns (inputs and outputs) that drifted
``drifted_columns``    number of drifted columns
``quality_bad_share``  share of served rows with at least one data-quality problem
``error_rate``         share of wrong answers among labelled predictions (classifiers), or
                       their mean absolute error (regressors)
``accuracy``           share of right answers among labelled predictions (classifiers)
``auc``                AUC of the positive class's probability on the labels (classifiers)
``log_loss``           log loss of that probability on the labels (classifiers)
``concept_drifts``     changes the online detectors found in the error stream
``predictions``        prediction requests served
``catalogue_coverage`` a ranker's distinct items shown over the catalogue (the version serving
                       now; ``ranking.ranking_monitor``, the reference: the window before)
``item_js_distance``   Jensen-Shannon distance of that version's item shares from the window
                       before's (0: the same items as often; 1: none in common)
=====================  =====================================================================

The first three and the two ranker metrics describe drift (the inputs, outputs or shown items
changed), the performance metrics from labels and ``concept_drifts`` describe decay (the
model got worse): a pipeline triggered by an alert records which of the two started it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from champion.db import read
from champion.drift.concept import Performance, performance
from champion.drift.live import count_predictions
from champion.drift.monitor import DriftMonitor, DriftRun
from champion.drift.ranking import VersionExposure
from champion.errors import Conflict, InvalidInput, NotFound

__all__ = [
    "DECAY_METRICS",
    "DRIFT_METRICS",
    "METRICS",
    "RANKER_METRICS",
    "SignalCache",
    "signal_kind",
]

DRIFT_METRICS = (
    "catalogue_coverage",
    "drift_share",
    "drifted_columns",
    "item_js_distance",
    "quality_bad_share",
)
RANKER_METRICS = ("catalogue_coverage", "item_js_distance")
DECAY_METRICS = ("accuracy", "auc", "concept_drifts", "error_rate", "log_loss")
METRICS = tuple(sorted((*DRIFT_METRICS, *DECAY_METRICS, "predictions")))


def signal_kind(metric: str) -> str:
    """``drift``, ``decay`` or ``alert`` (anything else): what an alert on ``metric`` means.

    >>> signal_kind("drift_share"), signal_kind("auc"), signal_kind("predictions")
    ('drift', 'decay', 'alert')
    """
    return "drift" if metric in DRIFT_METRICS else "decay" if metric in DECAY_METRICS else "alert"


@dataclass
class SignalCache:
    """Computes each (endpoint, window) drift run and performance once per evaluation."""

    monitor: DriftMonitor
    runs: dict[tuple[str, datetime, datetime], DriftRun | None] = field(default_factory=dict)
    performances: dict[tuple[str, datetime, datetime], Performance | None] = field(
        default_factory=dict
    )
    on_drift: Callable[[DriftRun], None] | None = None
    rankings: dict[tuple[str, datetime, datetime], VersionExposure | None] = field(
        default_factory=dict
    )

    def value(self, metric: str, endpoint: str, start: datetime, end: datetime) -> float | None:
        if metric == "predictions":
            with read(self.monitor.engine) as conn:
                return float(count_predictions(conn, endpoint, start, end, None))
        if metric in RANKER_METRICS:
            shown = self._ranking(endpoint, start, end)
            if shown is None:
                return None
            if metric == "catalogue_coverage":
                return shown.shown.coverage
            return shown.item_drift.js_distance
        if metric in ("drift_share", "drifted_columns", "quality_bad_share"):
            run = self._run(endpoint, start, end)
            if run is None or run.drift.rows == 0:
                return None
            if metric == "drift_share":
                return run.drift.share_drifted
            if metric == "drifted_columns":
                return float(len(run.drift.drifted_columns))
            return run.quality.share_bad
        result = self._performance(endpoint, start, end)
        if result is None or result.n == 0:
            return None
        if metric == "error_rate":
            return result.error_rate
        if metric in ("accuracy", "auc", "log_loss"):
            return result.overall.get(metric)
        return float(sum(d.kind == "drift" for d in result.detections))

    def _run(self, endpoint: str, start: datetime, end: datetime) -> DriftRun | None:
        key = (endpoint, start, end)
        if key not in self.runs:
            try:
                run: DriftRun | None = self.monitor.endpoint_drift(endpoint, start=start, end=end)
            except NotFound:
                run = None  # nothing served, or no reference: nothing to say yet
            self.runs[key] = run
            if run is not None and self.on_drift is not None:
                self.on_drift(run)
        return self.runs[key]

    def _ranking(self, endpoint: str, start: datetime, end: datetime) -> VersionExposure | None:
        """The version serving ``endpoint`` now, as the ranking monitor sees it (None: not a
        ranker, or it showed nothing in the window)."""
        key = (endpoint, start, end)
        if key not in self.rankings:
            found: VersionExposure | None = None
            monitor = self.monitor
            try:
                live = monitor.window_version(endpoint, start, end)
                result = monitor.ranking(endpoint, start=start, end=end)
                found = next((v for v in result.versions if v.version == live), None)
            except (NotFound, Conflict, InvalidInput):
                # Unknown, retention cut into the windows, or not a ranker: nothing to say.
                found = None
            self.rankings[key] = found
        return self.rankings[key]

    def _performance(self, endpoint: str, start: datetime, end: datetime) -> Performance | None:
        key = (endpoint, start, end)
        if key not in self.performances:
            found: Performance | None = None
            try:
                version = self.monitor.window_version(endpoint, start, end)
                kind = self.monitor.registry.get_version(version.model, version.number).kind
                if kind in ("classifier", "regressor"):
                    found = performance(
                        self.monitor.engine, endpoint, start, end,
                        kind=kind, bucket=max(end - start, timedelta(seconds=1)), version=version,
                    )  # fmt: skip
            except NotFound:
                found = None
            self.performances[key] = found
        return self.performances[key]


def describe(metric: str, value: float) -> str:
    formats: dict[str, Any] = {
        "drift_share": f"{value:.0%} of columns drifted",
        "catalogue_coverage": f"{value:.1%} of the catalogue shown",
        "item_js_distance": f"shown items moved by a Jensen-Shannon distance of {value:.3f}",
        "quality_bad_share": f"{value:.1%} of rows have data-quality problems",
        "error_rate": f"error rate {value:.3f}",
        "accuracy": f"accuracy {value:.3f} on the labels",
        "auc": f"AUC {value:.3f} on the labels",
        "log_loss": f"log loss {value:.3f} on the labels",
    }
    return str(formats.get(metric, f"{metric} = {value:g}"))
