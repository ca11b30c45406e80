"""The event log: predictions (off the response path) and feedback (group-committed)."""

from __future__ import annotations

from champion.events.compaction import Compaction, CompactionReport
from champion.events.entities import (
    FeedbackEvent,
    FeedbackReceipt,
    PredictionEvent,
    ShadowEvent,
    ShownItem,
)
from champion.events.feedback import FeedbackCommitter
from champion.events.folder import RollupFolder
from champion.events.logged_rows import joined_predictions
from champion.events.retention import Retention, RetentionGuard, RetentionReport
from champion.events.rollups import fold, rebuild
from champion.events.spool import EventSpool
from champion.events.version_stats import VersionStats, version_stats, version_stats_by_window
from champion.events.writer import PredictionWriter

__all__ = [
    "Compaction",
    "CompactionReport",
    "EventSpool",
    "FeedbackCommitter",
    "FeedbackEvent",
    "FeedbackReceipt",
    "PredictionEvent",
    "PredictionWriter",
    "Retention",
    "RetentionGuard",
    "RetentionReport",
    "RollupFolder",
    "ShadowEvent",
    "ShownItem",
    "VersionStats",
    "fold",
    "joined_predictions",
    "rebuild",
    "version_stats",
    "version_stats_by_window",
]
