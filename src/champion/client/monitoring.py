"""Drift, performance, reference profiles and alerts from Python."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from champion.client.calls import Call, Sender, drop_none, iso, segment

__all__ = ["MonitoringCalls"]

R = TypeVar("R")


def _tests(tests: Mapping[str, str] | None) -> list[str] | None:
    return [f"{column}={name}" for column, name in tests.items()] if tests else None


class MonitoringCalls(Sender[R]):
    # -- drift ---------------------------------------------------------------------------

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
    ) -> R:
        """Each reference column of the window against the version's reference: statistic,
        p-value, verdict; ``tests`` picks a detector per column (``{"tenure": "psi"}``)."""
        params = drop_none(
            window=window, start=iso(start), end=iso(end), version=version,
            test=_tests(tests), correction=correction,
        )  # fmt: skip
        return self._send(Call("GET", f"/v1/endpoints/{segment(endpoint)}/drift", params=params))

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
    ) -> R:
        """``buckets`` consecutive windows of width ``window``, each a drift run, with the
        reference's and each window's histograms."""
        params = drop_none(
            window=window, buckets=buckets, end=iso(end), version=version,
            test=_tests(tests), correction=correction,
        )  # fmt: skip
        path = f"/v1/endpoints/{segment(endpoint)}/drift/timeline"
        return self._send(Call("GET", path, params=params))

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
    ) -> R:
        """Performance per time bucket once labels arrive, and the changes online detectors
        found in the error stream."""
        params = drop_none(
            window=window, start=iso(start), end=iso(end), bucket=bucket, version=version,
            detector=list(detectors) if detectors else None,
        )  # fmt: skip
        path = f"/v1/endpoints/{segment(endpoint)}/performance"
        return self._send(Call("GET", path, params=params))

    def estimated_performance(
        self,
        endpoint: str,
        *,
        window: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        bucket: str = "1h",
        version: str | None = None,
    ) -> R:
        """Expected accuracy, ROC AUC and F1 per bucket before labels (CBPE), beside the
        realised ones once labels arrive; needs the version's labelled reference."""
        params = drop_none(
            window=window, start=iso(start), end=iso(end), bucket=bucket, version=version
        )
        path = f"/v1/endpoints/{segment(endpoint)}/performance/estimated"
        return self._send(Call("GET", path, params=params))

    def get_reference(self, model: str, version: int | str) -> R:
        """The reference profile's summary: rows, source, inputs, outputs, columns."""
        return self._send(Call("GET", _reference(model, version)))

    def put_reference(
        self,
        model: str,
        version: int | str,
        data: str | Path,
        *,
        replace: bool = False,
        reason: str = "",
        label: str | None = None,
    ) -> R:
        """Upload a data file (.csv, .parquet, .jsonl) as the version's reference; ``label``
        names its column of true outcomes (a labelled reference, for estimated performance)."""
        path = Path(data)
        files = {"file": (path.name, path.read_bytes(), "application/octet-stream")}
        form = {"replace": "true" if replace else "false", "reason": reason}
        if label is not None:
            form["label"] = label
        return self._send(Call("PUT", _reference(model, version), files=files, data=form))

    # -- alerts --------------------------------------------------------------------------

    def list_alerts(self, *, state: str | None = None, limit: int = 100) -> R:
        """Alerts, newest first; ``state`` is ``open`` or ``resolved``."""
        params = drop_none(state=state, limit=limit)
        return self._send(Call("GET", "/v1/alerts", params=params, pick="alerts"))

    def evaluate_alerts(self) -> R:
        """Evaluate every rule now; the alerts that opened or resolved."""
        return self._send(Call("POST", "/v1/alerts/evaluate", pick="changed"))

    def list_alert_rules(self) -> R:
        return self._send(Call("GET", "/v1/alerts/rules", pick="rules"))

    def get_alert_rule(self, name: str) -> R:
        return self._send(Call("GET", f"/v1/alerts/rules/{segment(name)}"))

    def put_alert_rule(
        self,
        name: str,
        *,
        endpoint: str,
        metric: str,
        threshold: float,
        reason: str = "",
        **fields: Any,
    ) -> R:
        """Create or replace a rule; ``fields`` are ``operator``, ``window``, ``severity``,
        ``cooldown``, ``sinks`` and ``description``."""
        body = {"endpoint": endpoint, "metric": metric, "threshold": threshold, **fields}
        path = f"/v1/alerts/rules/{segment(name)}"
        return self._send(Call("PUT", path, json=body | {"reason": reason}))

    def delete_alert_rule(self, name: str, *, reason: str = "") -> R:
        path = f"/v1/alerts/rules/{segment(name)}"
        return self._send(Call("DELETE", path, params={"reason": reason}))


def _reference(model: str, version: int | str) -> str:
    return f"/v1/models/{segment(model)}/versions/{segment(version)}/reference"
