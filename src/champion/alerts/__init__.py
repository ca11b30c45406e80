"""Alerts: rules over drift, quality and performance metrics, sent to sinks on a schedule."""

from __future__ import annotations

from champion.alerts.evaluator import AlertEvaluator
from champion.alerts.rules import OPERATORS, SEVERITIES, Alert, AlertRule
from champion.alerts.service import AlertService
from champion.alerts.signals import DECAY_METRICS, DRIFT_METRICS, METRICS, signal_kind
from champion.alerts.sinks import LogSink, Sink, WebhookSink, build_sink, default_sinks
from champion.alerts.store import AlertStore

__all__ = [
    "DECAY_METRICS",
    "DRIFT_METRICS",
    "METRICS",
    "OPERATORS",
    "SEVERITIES",
    "Alert",
    "AlertEvaluator",
    "AlertRule",
    "AlertService",
    "AlertStore",
    "LogSink",
    "Sink",
    "WebhookSink",
    "build_sink",
    "default_sinks",
    "signal_kind",
]
