"""Drift: reference profiles, batch and online detectors, data quality, drift runs, reports."""

from __future__ import annotations

from champion.drift.comparison import ColumnDrift, TableDrift, compare_table
from champion.drift.concept import Detection, Performance, PerformanceBucket, performance
from champion.drift.days import DriftDays, drift_days_guard
from champion.drift.detectors import (
    BatchDetector,
    DetectorSpec,
    DriftResult,
    default_detectors,
)
from champion.drift.exposure import ItemDrift, item_drift
from champion.drift.monitor import DriftMonitor, DriftRun
from champion.drift.profile import ColumnKind, ColumnProfile, ReferenceProfile
from champion.drift.quality import (
    QualityCounter,
    QualityFindings,
    QualityIssue,
    QualityReport,
    QualityRule,
    ReferenceQuality,
    check_frame,
)
from champion.drift.ranking import RankingMonitor, ranking_monitor
from champion.drift.references import References, StoredReference
from champion.drift.select import default_test
from champion.drift.streams import (
    ADWIN,
    DDM,
    PageHinkley,
    StreamDetector,
    StreamSpec,
    WarningDetector,
    default_stream_detectors,
)
from champion.drift.timeline import DriftTimeline, drift_timeline
from champion.drift.window import ColumnAccumulator, ColumnWindow

__all__ = [
    "ADWIN",
    "DDM",
    "BatchDetector",
    "ColumnAccumulator",
    "ColumnDrift",
    "ColumnKind",
    "ColumnProfile",
    "ColumnWindow",
    "Detection",
    "DetectorSpec",
    "DriftDays",
    "DriftMonitor",
    "DriftResult",
    "DriftRun",
    "DriftTimeline",
    "ItemDrift",
    "PageHinkley",
    "Performance",
    "PerformanceBucket",
    "QualityCounter",
    "QualityFindings",
    "QualityIssue",
    "QualityReport",
    "QualityRule",
    "RankingMonitor",
    "ReferenceProfile",
    "ReferenceQuality",
    "References",
    "StoredReference",
    "StreamDetector",
    "StreamSpec",
    "TableDrift",
    "WarningDetector",
    "check_frame",
    "compare_table",
    "default_detectors",
    "default_stream_detectors",
    "default_test",
    "drift_days_guard",
    "drift_timeline",
    "item_drift",
    "performance",
    "ranking_monitor",
]
