"""The event log: predictions (off the response path) and feedback (group-committed)."""

from __future__ import annotations

from champion.events.entities import (
    FeedbackEvent,
    FeedbackReceipt,
    PredictionEvent,
    ShadowEvent,
    ShownItem,
)
from champion.events.feedback import FeedbackCommitter
from champion.events.queries import VersionStats, joined_predictions, version_stats
from champion.events.retention import Retention, RetentionGuard, RetentionReport
from champion.events.spool import EventSpool
from champion.events.writer import PredictionWriter

__all__ = [
    "EventSpool",
    "FeedbackCommitter",
    "FeedbackEvent",
    "FeedbackReceipt",
    "PredictionEvent",
    "PredictionWriter",
    "Retention",
    "RetentionGuard",
    "RetentionReport",
    "ShadowEvent",
    "ShownItem",
    "VersionStats",
    "joined_predictions",
    "version_stats",
]
