"""The evaluation of alert rules: each rule's metric over its window, alerts opened,
updated or resolved, and each change handed to the rule's sinks.

``evaluate()`` reads the time from the clock, computes every rule's metric over its window,
opens, updates or resolves alerts in one transaction (under a lock, so replicas sharing the
database never open the same alert twice), audits each opening and resolution (actor
``alerts``, with the endpoint's model in the details), and hands each opened or resolved alert
to its sinks on a thread pool: a slow or failing sink delays nothing and stops no other sink.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from champion import audit
from champion.alerts.rules import Alert, AlertRule
from champion.alerts.signals import SignalCache, describe
from champion.alerts.sinks import build_sink
from champion.alerts.store import AlertStore, alert_from_row, subject_of
from champion.alerts.tables import alerts
from champion.db import read, write
from champion.drift.monitor import DriftMonitor, DriftRun
from champion.metrics import Metrics

__all__ = ["AlertEvaluator"]

logger = logging.getLogger("champion.alerts")
_LOCK_KEY = 0x43_48_41_4C  # PostgreSQL advisory lock of the alert evaluation


class AlertEvaluator:
    """Evaluates the rules of ``store`` against the drift ``monitor``; sinks on ``workers``
    threads."""

    def __init__(
        self,
        store: AlertStore,
        monitor: DriftMonitor,
        *,
        metrics: Metrics | None = None,
        workers: int = 4,
    ) -> None:
        self.store = store
        self.engine = store.engine
        self.clock = store.clock
        self.endpoints = store.endpoints
        self.monitor = monitor
        self.metrics = metrics
        self._pool: ThreadPoolExecutor | None = None
        self._workers = workers
        self._pending: set[Future[None]] = set()
        self._lock = threading.Lock()

    def evaluate(self) -> list[Alert]:
        """Evaluate every rule now; return the alerts opened or resolved by this round."""
        now = self.clock.now()
        cache = SignalCache(self.monitor, on_drift=self._observe_drift)
        values: dict[str, float | None] = {}
        rules = self.store.list_rules()
        for rule in rules:
            start = now - timedelta(seconds=rule.window_seconds)
            try:
                watched = self._watched(rule.endpoint)
                values[rule.name] = cache.value(rule.metric, watched, start, now)
            except Exception:
                logger.exception("Alert rule %r could not compute %s", rule.name, rule.metric)
                values[rule.name] = None
        changed: list[Alert] = []
        with write(self.engine) as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
            for rule in rules:
                value = values[rule.name]
                if value is not None:
                    changed.extend(self._apply(conn, rule, value, now))
        for alert in changed:
            self._notify(alert, next(r for r in rules if r.name == alert.rule))
        self._observe_open()
        return changed

    def _apply(
        self, conn: sa.Connection, rule: AlertRule, value: float, now: datetime
    ) -> list[Alert]:
        current = conn.execute(
            sa.select(alerts).where((alerts.c.rule == rule.name) & (alerts.c.state == "open"))
        ).first()
        breached = rule.breached(value)
        if current is not None:
            update: dict[str, Any] = {"last_value": value, "last_evaluated_at": now}
            if not breached:
                update |= {"state": "resolved", "resolved_at": now}
            conn.execute(alerts.update().where(alerts.c.id == current.id).values(**update))
            if breached:
                return []
            resolved = alert_from_row({**current._mapping, **update})
            self._audit(conn, resolved, now, f"{rule.name}: back within its threshold")
            return [resolved]
        if not breached:
            return []
        latest = conn.execute(
            sa.select(sa.func.max(alerts.c.opened_at)).where(alerts.c.rule == rule.name)
        ).scalar_one_or_none()
        if latest is not None and now - latest < timedelta(seconds=rule.cooldown_seconds):
            return []  # in its cooldown: the last opening was too recent
        word = "above" if rule.operator == "above" else "below"
        message = (
            f"{rule.name} on endpoint {rule.endpoint}: {describe(rule.metric, value)} "
            f"({rule.metric} {value:.4g} {word} {rule.threshold:g} over the last "
            f"{_duration(rule.window_seconds)})"
        )
        row = {
            "rule": rule.name, "endpoint": rule.endpoint, "metric": rule.metric,
            "severity": rule.severity, "state": "open", "value": value,
            "threshold": rule.threshold, "message": message, "opened_at": now,
            "last_value": value, "last_evaluated_at": now, "resolved_at": None, "deliveries": {},
        }  # fmt: skip
        new_id = conn.execute(alerts.insert().values(**row)).inserted_primary_key
        assert new_id is not None
        opened = alert_from_row({**row, "id": int(new_id[0])})
        self._audit(conn, opened, now, message)
        return [opened]

    def _audit(self, conn: sa.Connection, alert: Alert, now: datetime, reason: str) -> None:
        action = "alert.open" if alert.state == "open" else "alert.resolve"
        audit.record(
            conn, at=now, actor="alerts", action=action, target=alert.endpoint,
            details={
                **subject_of(self.endpoints, conn, alert.endpoint),
                "alert": alert.id, "rule": alert.rule, "metric": alert.metric,
                "value": alert.last_value, "threshold": alert.threshold,
                "severity": alert.severity,
            },
            reason=reason,
        )  # fmt: skip

    def _watched(self, endpoint: str) -> str:
        """The name the watched events are logged under: a pipeline endpoint's stage
        (``endpoint:stage``) is found where its events are (``serving.stages``)."""
        if ":" not in endpoint or self.endpoints is None:
            return endpoint
        return self.endpoints.logged_config(endpoint).name

    def _notify(self, alert: Alert, rule: AlertRule) -> None:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="champion-sink")
            pool = self._pool
        for config in rule.sinks:
            future = pool.submit(self._deliver, alert, config)
            self._pending.add(future)
            future.add_done_callback(self._pending.discard)

    def _deliver(self, alert: Alert, config: Mapping[str, Any]) -> None:
        outcome = "sent"
        name = str(config.get("type"))
        try:
            sink = build_sink(config, self.store.sinks)
            name = sink.name
            sink.send(alert)
        except Exception as exc:  # a failing sink must never stop the others
            outcome = f"error: {exc}"
            logger.warning("Alert %d could not go to %s: %s", alert.id, name, exc)
        if self.metrics is not None:
            self.metrics.alert_notifications.labels(
                str(config.get("type")), "sent" if outcome == "sent" else "failed"
            ).inc()
        key = f"{alert.state} {name}"
        with write(self.engine) as conn:
            # Sinks deliver in parallel: the row is locked so that no outcome overwrites
            # another's (PostgreSQL reads committed rows; SQLite writes one at a time anyway).
            row = conn.execute(
                sa.select(alerts.c.deliveries).where(alerts.c.id == alert.id).with_for_update()
            ).first()
            deliveries = dict(row.deliveries) if row is not None else {}
            deliveries[key] = outcome
            conn.execute(
                alerts.update().where(alerts.c.id == alert.id).values(deliveries=deliveries)
            )

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until every notification handed to the sinks was delivered or failed."""
        wait(list(self._pending), timeout=timeout)

    def close(self) -> None:
        self.flush()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _observe_drift(self, run: DriftRun) -> None:
        if self.metrics is not None and run.endpoint is not None:
            self.metrics.observe_drift(run.endpoint, run.drift)

    def _observe_open(self) -> None:
        if self.metrics is None:
            return
        with read(self.engine) as conn:
            counts: dict[str, int] = dict(
                conn.execute(
                    sa.select(alerts.c.severity, sa.func.count())
                    .where(alerts.c.state == "open")
                    .group_by(alerts.c.severity)
                ).all()
            )
        for severity in ("info", "warning", "critical"):
            self.metrics.alerts_open.labels(severity).set(counts.get(severity, 0))


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
