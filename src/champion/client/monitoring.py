"""Drift, performance, reference profiles and alerts from Python."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from champion.answers import (
    AlertAnswer,
    AlertChangesAnswer,
    AlertListAnswer,
    AlertRuleAnswer,
    AlertRuleListAnswer,
    DriftAnswer,
    DriftTimelineAnswer,
    EstimatedPerformanceAnswer,
    PerformanceAnswer,
    RankingMonitorAnswer,
    ReferenceAnswer,
)
from champion.client.calls import Call, drop_none, iso, nothing, operation, read, segment

__all__ = ["MonitoringCalls"]


def _tests(tests: Mapping[str, str] | None) -> list[str] | None:
    return [f"{column}={name}" for column, name in tests.items()] if tests else None


class MonitoringCalls:
    # -- drift ---------------------------------------------------------------------------

    @operation
    def drift(
        self,
        endpoint: str,
        *,
        window: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        version: str | None = None,
        tests: Mapping[str, str] | None = None,
        correction: str = "bh",
        stage: str | None = None,
    ) -> Call[DriftAnswer]:
        """Each reference column of the window against the version's reference: statistic,
        p-value, verdict; ``tests`` picks a detector per column (``{"tenure": "psi"}``).
        ``stage``: that stage of a pipeline endpoint (default: its last)."""
        params = drop_none(
            window=window, start=iso(start), end=iso(end), version=version,
            test=_tests(tests), correction=correction, stage=stage,
        )  # fmt: skip
        path = f"/v1/endpoints/{segment(endpoint)}/drift"
        return Call("GET", path, read(DriftAnswer), params=params)

    @operation
    def drift_timeline(
        self,
        endpoint: str,
        *,
        window: str = "1h",
        buckets: int = 24,
        end: datetime | None = None,
        version: str | None = None,
        tests: Mapping[str, str] | None = None,
        correction: str = "bh",
        stage: str | None = None,
    ) -> Call[DriftTimelineAnswer]:
        """``buckets`` consecutive windows of width ``window``, each a drift run, with the
        reference's and each window's histograms (of a pipeline endpoint's ``stage``)."""
        params = drop_none(
            window=window, buckets=buckets, end=iso(end), version=version,
            test=_tests(tests), correction=correction, stage=stage,
        )  # fmt: skip
        path = f"/v1/endpoints/{segment(endpoint)}/drift/timeline"
        return Call("GET", path, read(DriftTimelineAnswer), params=params)

    @operation
    def ranking_monitor(
        self,
        endpoint: str,
        *,
        window: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        reference_start: datetime | None = None,
        reference_end: datetime | None = None,
        buckets: int = 12,
        alpha: float = 0.05,
    ) -> Call[RankingMonitorAnswer]:
        """A ranker endpoint's shown items, coverage, popularity and click-through per
        version, against the reference window (by default the window just before)."""
        params = drop_none(
            window=window, start=iso(start), end=iso(end), reference_start=iso(reference_start),
            reference_end=iso(reference_end), buckets=buckets, alpha=alpha,
        )  # fmt: skip
        path = f"/v1/endpoints/{segment(endpoint)}/ranking-monitor"
        return Call("GET", path, read(RankingMonitorAnswer), params=params)

    @operation
    def performance(
        self,
        endpoint: str,
        *,
        window: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        bucket: str = "1h",
        version: str | None = None,
        detectors: Sequence[str] | None = None,
    ) -> Call[PerformanceAnswer]:
        """Performance per time bucket once labels arrive, and the changes online detectors
        found in the error stream."""
        params = drop_none(
            window=window, start=iso(start), end=iso(end), bucket=bucket, version=version,
            detector=list(detectors) if detectors else None,
        )  # fmt: skip
        path = f"/v1/endpoints/{segment(endpoint)}/performance"
        return Call("GET", path, read(PerformanceAnswer), params=params)

    @operation
    def estimated_performance(
        self,
        endpoint: str,
        *,
        window: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        bucket: str = "1h",
        version: str | None = None,
    ) -> Call[EstimatedPerformanceAnswer]:
        """Expected accuracy, ROC AUC and F1 per bucket before labels (CBPE), beside the
        realised ones once labels arrive; needs the version's labelled reference."""
        params = drop_none(
            window=window, start=iso(start), end=iso(end), bucket=bucket, version=version
        )
        path = f"/v1/endpoints/{segment(endpoint)}/performance/estimated"
        return Call("GET", path, read(EstimatedPerformanceAnswer), params=params)

    @operation
    def get_reference(self, model: str, version: int | str) -> Call[ReferenceAnswer]:
        """The reference profile's summary: rows, source, inputs, outputs, columns."""
        return Call("GET", _reference(model, version), read(ReferenceAnswer))

    @operation
    def put_reference(
        self,
        model: str,
        version: int | str,
        data: str | Path,
        *,
        replace: bool = False,
        reason: str = "",
        label: str | None = None,
    ) -> Call[ReferenceAnswer]:
        """Upload a data file (.csv, .parquet, .jsonl) as the version's reference; ``label``
        names its column of true outcomes (a labelled reference, for estimated performance)."""
        file = Path(data)
        files = {"file": (file.name, file.read_bytes(), "application/octet-stream")}
        form = {"replace": "true" if replace else "false", "reason": reason}
        if label is not None:
            form["label"] = label
        return Call(
            "PUT", _reference(model, version), read(ReferenceAnswer), files=files, data=form
        )

    # -- alerts --------------------------------------------------------------------------

    @operation
    def list_alerts(self, *, state: str | None = None, limit: int = 100) -> Call[list[AlertAnswer]]:
        """Alerts, newest first; ``state`` is ``open`` or ``resolved``."""
        params = drop_none(state=state, limit=limit)
        return Call(
            "GET",
            "/v1/alerts",
            lambda body: AlertListAnswer.model_validate(body).alerts,
            params=params,
        )

    @operation
    def evaluate_alerts(self) -> Call[list[AlertAnswer]]:
        """Evaluate every rule now; the alerts that opened or resolved."""
        return Call(
            "POST",
            "/v1/alerts/evaluate",
            lambda body: AlertChangesAnswer.model_validate(body).changed,
        )

    @operation
    def list_alert_rules(self) -> Call[list[AlertRuleAnswer]]:
        return Call(
            "GET", "/v1/alerts/rules", lambda body: AlertRuleListAnswer.model_validate(body).rules
        )

    @operation
    def get_alert_rule(self, name: str) -> Call[AlertRuleAnswer]:
        return Call("GET", f"/v1/alerts/rules/{segment(name)}", read(AlertRuleAnswer))

    @operation
    def put_alert_rule(
        self,
        /,
        name: str,
        *,
        endpoint: str,
        metric: str,
        threshold: float,
        reason: str = "",
        **fields: Any,
    ) -> Call[AlertRuleAnswer]:
        """Create or replace a rule; ``fields`` are ``operator``, ``window``, ``severity``,
        ``cooldown``, ``sinks`` and ``description``."""
        body = {"endpoint": endpoint, "metric": metric, "threshold": threshold, **fields}
        path = f"/v1/alerts/rules/{segment(name)}"
        return Call("PUT", path, read(AlertRuleAnswer), json=body | {"reason": reason})

    @operation
    def delete_alert_rule(self, name: str, *, reason: str = "") -> Call[None]:
        path = f"/v1/alerts/rules/{segment(name)}"
        return Call("DELETE", path, nothing, params={"reason": reason})


def _reference(model: str, version: int | str) -> str:
    return f"/v1/models/{segment(model)}/versions/{segment(version)}/reference"
