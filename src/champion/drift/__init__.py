"""Drift: the reference profile, batch detectors and whole-table comparison."""

from __future__ import annotations

from champion.drift.contract import check_detector
from champion.drift.detectors import (
    BatchDetector,
    DetectorSpec,
    DriftResult,
    default_detectors,
)
from champion.drift.profile import ColumnKind, ColumnProfile, ReferenceProfile
from champion.drift.select import default_test
from champion.drift.table import ColumnDrift, TableDrift, compare_table
from champion.drift.window import ColumnAccumulator, ColumnWindow

__all__ = [
    "BatchDetector",
    "ColumnAccumulator",
    "ColumnDrift",
    "ColumnKind",
    "ColumnProfile",
    "ColumnWindow",
    "DetectorSpec",
    "DriftResult",
    "ReferenceProfile",
    "TableDrift",
    "check_detector",
    "compare_table",
    "default_detectors",
    "default_test",
]
