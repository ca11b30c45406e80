"""Alerts: rules over drift, quality and performance metrics, sent to sinks on a schedule."""

from __future__ import annotations

from champion.alerts.rules import OPERATORS, SEVERITIES, Alert, AlertRule
from champion.alerts.service import AlertService
from champion.alerts.signals import METRICS
from champion.alerts.sinks import LogSink, Sink, WebhookSink, build_sink, default_sinks

__all__ = [
    "METRICS",
    "OPERATORS",
    "SEVERITIES",
    "Alert",
    "AlertRule",
    "AlertService",
    "LogSink",
    "Sink",
    "WebhookSink",
    "build_sink",
    "default_sinks",
]
