"""Prometheus metrics of one server, in a registry of its own (never the global one)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

__all__ = ["ColumnStatistic", "DriftStatistics", "Metrics"]

_LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_LONGER_BUCKETS = (5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


def latency_buckets(timeout_seconds: float) -> tuple[float, ...]:
    """Histogram buckets from 0.5 ms up to ``timeout_seconds``, which is a bucket itself: a
    request that waited for the timeout lands in it, not in +Inf beside every slow upload.

    Examples
    --------
    >>> latency_buckets(10.0)[-4:]
    (1.0, 2.5, 5.0, 10.0)
    >>> latency_buckets(0.3)[-3:]
    (0.1, 0.25, 0.3)
    """
    below = [b for b in (*_LATENCY_BUCKETS, *_LONGER_BUCKETS) if b < timeout_seconds]
    return (*below, timeout_seconds)


class ColumnStatistic(Protocol):
    """One column's drift statistic, as :class:`champion.drift.ColumnDrift` has it."""

    @property
    def column(self) -> str: ...
    @property
    def method(self) -> str: ...
    @property
    def statistic(self) -> float: ...


class DriftStatistics(Protocol):
    """What a drift run publishes, as :class:`champion.drift.TableDrift` has it: the metrics
    are below every service, so they name the shape rather than import drift."""

    @property
    def share_drifted(self) -> float: ...
    @property
    def columns(self) -> Sequence[ColumnStatistic]: ...


class Metrics:
    """Parameters
    ----------
    timeout_seconds
        The predict timeout: the last finite latency bucket.
    """

    def __init__(self, timeout_seconds: float = 10.0) -> None:
        self.registry = CollectorRegistry()
        # The standard process_* (CPU, memory, open files) and python_gc_* / python_info series
        # that operators' dashboards expect, in this server's registry.
        ProcessCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        buckets = latency_buckets(timeout_seconds)
        self.http_requests = Counter(
            "champion_http_requests",
            "HTTP requests answered, by method, route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "champion_http_request_duration_seconds",
            "Time from a request's arrival to the end of its response, by method and route.",
            ["method", "route"],
            buckets=buckets,
            registry=self.registry,
        )
        self.http_in_flight = Gauge(
            "champion_http_requests_in_flight",
            "HTTP requests being served now.",
            registry=self.registry,
        )
        self.requests = Counter(
            "champion_predictions",
            "Prediction and rank requests served.",
            ["endpoint", "model", "version", "arm"],
            registry=self.registry,
        )
        self.errors = Counter(
            "champion_prediction_errors",
            "Prediction and rank requests that failed, by error code.",
            ["endpoint", "code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "champion_prediction_latency_seconds",
            "Time to answer a prediction or rank request (routing and model calls).",
            ["endpoint", "model", "version", "arm"],
            buckets=buckets,
            registry=self.registry,
        )
        self.version_failures = Counter(
            "champion_version_failures",
            "Calls to a version that raised or timed out.",
            ["endpoint", "model", "version", "reason"],
            registry=self.registry,
        )
        # Rows per batched call: rate(rows) / rate(calls).
        self.batched_calls = Counter(
            "champion_batched_calls",
            "Model calls of endpoints that batch (adaptive batching), by version.",
            ["endpoint", "model", "version"],
            registry=self.registry,
        )
        self.batched_rows = Counter(
            "champion_batched_rows",
            "Rows those batched calls carried.",
            ["endpoint", "model", "version"],
            registry=self.registry,
        )
        self.fallbacks = Counter(
            "champion_fallbacks",
            "Requests answered by the champion after another version failed.",
            ["endpoint", "model", "version"],
            registry=self.registry,
        )
        self.shadows_skipped = Counter(
            "champion_shadows_skipped",
            "Shadow calls skipped because the version was still busy.",
            ["endpoint", "model", "version"],
            registry=self.registry,
        )
        self.events_folded = Counter(
            "champion_events_folded",
            "Prediction and feedback rows folded into the rollups that reports read.",
            registry=self.registry,
        )
        self.fold_backlog = Gauge(
            "champion_fold_backlog",
            "Predictions not folded into the rollups yet (at the last fold pass).",
            registry=self.registry,
        )
        self.events_dropped = Counter(
            "champion_events_dropped",
            "Prediction events dropped: the queue or the spool was full, or no database "
            "could store the event.",
            registry=self.registry,
        )
        self.events_spooled = Counter(
            "champion_events_spooled",
            "Prediction events kept in the local spool because the database refused them.",
            registry=self.registry,
        )
        self.events_replayed = Counter(
            "champion_events_replayed",
            "Spooled prediction events written to the database once it accepted them again.",
            registry=self.registry,
        )
        self.event_spool_bytes = Gauge(
            "champion_event_spool_bytes",
            "Bytes of prediction events waiting in the local spool.",
            registry=self.registry,
        )
        self.event_spool_capacity_bytes = Gauge(
            "champion_event_spool_capacity_bytes",
            "Bytes the spool holds before it drops new events.",
            registry=self.registry,
        )
        self.ready = Gauge(
            "champion_ready",
            "1 while a readiness check passes, else 0, by check (database, artifacts, events, "
            "retention).",
            ["check"],
            registry=self.registry,
        )
        self.events_written = Counter(
            "champion_events_written",
            "Prediction events committed to the database.",
            registry=self.registry,
        )
        self.event_queue_depth = Gauge(
            "champion_event_queue_depth",
            "Prediction events waiting to be written.",
            registry=self.registry,
        )
        self.event_queue_capacity = Gauge(
            "champion_event_queue_capacity",
            "Events the queue holds before it drops new ones.",
            registry=self.registry,
        )
        self.access_refused = Counter(
            "champion_access_refused",
            "Calls refused for a missing or wrong token (401) or a missing scope (403).",
            ["status"],
            registry=self.registry,
        )
        self.info = Gauge(
            "champion_build_info",
            "Always 1; the champion version in a label.",
            ["version"],
            registry=self.registry,
        )
        self.feedback_committed = Counter(
            "champion_feedback_committed",
            "Feedback events committed.",
            registry=self.registry,
        )
        self.controller_decisions = Counter(
            "champion_controller_decisions",
            "Decisions the rollout controller reached, by endpoint and decision "
            "(promote, continue, rollback).",
            ["endpoint", "decision"],
            registry=self.registry,
        )
        self.controller_actions = Counter(
            "champion_controller_actions",
            "Actions the rollout controller carried out (ramp, promote, rollback) or proposed "
            "for approval (propose).",
            ["endpoint", "action"],
            registry=self.registry,
        )
        self.controller_leader = Gauge(
            "champion_controller_leader",
            "1 while this server holds the rollout controller's leader lock, else 0.",
            registry=self.registry,
        )
        self.feedback_commit_seconds = Histogram(
            "champion_feedback_commit_seconds",
            "Time of one group commit of feedback.",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.drift_share = Gauge(
            "champion_drift_drifted_columns_ratio",
            "Share of an endpoint's reference columns that drifted in the last drift run.",
            ["endpoint"],
            registry=self.registry,
        )
        self.drift_statistic = Gauge(
            "champion_drift_statistic",
            "Per column, the statistic of its drift test in the last drift run.",
            ["endpoint", "column", "method"],
            registry=self.registry,
        )
        self.alerts_open = Gauge(
            "champion_alerts_open",
            "Alerts open now, by severity.",
            ["severity"],
            registry=self.registry,
        )
        self.alert_notifications = Counter(
            "champion_alert_notifications",
            "Alert notifications handed to a sink, by sink type and outcome (sent, failed).",
            ["sink", "outcome"],
            registry=self.registry,
        )
        self.retention_deleted = Counter(
            "champion_retention_deleted_rows",
            "Event rows deleted by retention, by table.",
            ["table"],
            registry=self.registry,
        )
        self.retention_pass_seconds = Gauge(
            "champion_retention_last_pass_seconds",
            "Duration of this server's last retention pass.",
            registry=self.registry,
        )
        self.compaction_rows = Counter(
            "champion_compaction_rows",
            "Rows taken out by compaction, by table: per-unit rollups merged into per-arm "
            "totals, label and clicked-position rows deleted.",
            ["table"],
            registry=self.registry,
        )
        self.compaction_segments = Counter(
            "champion_compaction_segments",
            "Segments compacted past CHAMPION_KEEP_UNIT_ROLLUPS.",
            registry=self.registry,
        )
        self.compaction_pass_seconds = Gauge(
            "champion_compaction_last_pass_seconds",
            "Duration of this server's last compaction pass.",
            registry=self.registry,
        )

    def observe_drift(self, endpoint: str, drift: DriftStatistics) -> None:
        """Publish a drift run's share and per-column statistics."""
        self.drift_share.labels(endpoint).set(drift.share_drifted)
        for column in drift.columns:
            self.drift_statistic.labels(endpoint, column.column, column.method).set(
                column.statistic
            )

    def failures_of(self, endpoint: str) -> list[dict[str, Any]]:
        """Calls of ``endpoint``'s versions that raised or timed out since this process
        started: version, reason (error, timeout, input) and count."""
        found = []
        for family in self.version_failures.collect():
            for sample in family.samples:
                labels = sample.labels
                if sample.name.endswith("_total") and labels["endpoint"] == endpoint:
                    found.append(
                        {
                            "version": f"{labels['model']}/{labels['version']}",
                            "reason": labels["reason"],
                            "count": int(sample.value),
                        }
                    )
        return found

    def errors_of(self, endpoint: str) -> dict[str, int]:
        """Failed requests of ``endpoint`` since this process started, by error code."""
        found: dict[str, int] = {}
        for family in self.errors.collect():
            for sample in family.samples:
                if sample.name.endswith("_total") and sample.labels["endpoint"] == endpoint:
                    found[sample.labels["code"]] = int(sample.value)
        return found
