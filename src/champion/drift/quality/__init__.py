"""Data quality, in one place: at ingestion and at serving.

* :mod:`~champion.drift.quality.schema`: a table against a declared schema (columns, types,
  nullability), row by row; what ingestion screens first;
* :mod:`~champion.drift.quality.checks`: rows against a reference profile (missing values,
  types, ranges, unseen categories), each bad row with its reasons;
* :mod:`~champion.drift.quality.counter`: the same checks counted over a window of served
  inputs, in flat memory (drift runs and reports);
* :mod:`~champion.drift.quality.quarantine`: which reference findings quarantine an ingested
  row and which are only counted.
"""

from __future__ import annotations

from champion.drift.quality.checks import CHECKS, Check, QualityIssue, QualityReport, check_frame
from champion.drift.quality.counter import QualityCounter
from champion.drift.quality.quarantine import (
    QualityFindings,
    QualityRule,
    ReferenceQuality,
    describe_counted,
)
from champion.drift.quality.schema import (
    RejectedRow,
    Screened,
    arrow_schema,
    column_problem,
    screen,
)

__all__ = [
    "CHECKS",
    "Check",
    "QualityCounter",
    "QualityFindings",
    "QualityIssue",
    "QualityReport",
    "QualityRule",
    "ReferenceQuality",
    "RejectedRow",
    "Screened",
    "arrow_schema",
    "check_frame",
    "column_problem",
    "describe_counted",
    "screen",
]
