"""Alert rules (stored, audited), their evaluation on a schedule, and the alert history.

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
from champion.alerts.signals import METRICS, SignalCache, describe
from champion.alerts.sinks import SinkFactory, build_sink, default_sinks
from champion.alerts.tables import alert_rules, alerts
from champion.clock import Clock
from champion.db import read, write
from champion.drift.monitor import DriftMonitor, DriftRun
from champion.errors import NotFound
from champion.metrics import Metrics
from champion.plugins import Registry
from champion.serving.endpoints import Endpoints
from champion.validation import check_choice

__all__ = ["AlertService"]

logger = logging.getLogger("champion.alerts")
_LOCK_KEY = 0x43_48_41_4C  # PostgreSQL advisory lock of the alert evaluation
STATES = ("open", "resolved")


class AlertService:
    def __init__(
        self,
        engine: sa.Engine,
        monitor: DriftMonitor,
        clock: Clock,
        *,
        sinks: Registry[SinkFactory] | None = None,
        metrics: Metrics | None = None,
        workers: int = 4,
        endpoints: Endpoints | None = None,
    ) -> None:
        self.engine = engine
        self.endpoints = endpoints
        self.monitor = monitor
        self.clock = clock
        self.sinks = sinks or default_sinks()
        self.metrics = metrics
        self._pool: ThreadPoolExecutor | None = None
        self._workers = workers
        self._pending: set[Future[None]] = set()
        self._lock = threading.Lock()

    # -- rules ---------------------------------------------------------------------------

    def put_rule(self, rule: AlertRule, *, actor: str, reason: str = "") -> AlertRule:
        """Create or replace the rule ``rule.name`` (audited)."""
        check_choice("AlertRule", "metric", rule.metric, METRICS)
        endpoint, colon, stage = rule.endpoint.partition(":")
        if colon and self.endpoints is not None:
            # A rule may come before its endpoint; a stage of an endpoint set must be one of its.
            known = {config.name: config for config in self.endpoints.list_endpoints()}
            if endpoint in known:
                self.endpoints.stage_config(known[endpoint], stage)
        for config in rule.sinks:
            build_sink(config, self.sinks)
        now = self.clock.now()
        values = {**_row(rule), "updated_at": now, "updated_by": actor}
        with write(self.engine) as conn:
            previous = conn.execute(
                sa.select(alert_rules).where(alert_rules.c.name == rule.name)
            ).first()
            if previous is None:
                conn.execute(alert_rules.insert().values(name=rule.name, **values))
            else:
                conn.execute(
                    alert_rules.update().where(alert_rules.c.name == rule.name).values(**values)
                )
            audit.record(
                conn, at=now, actor=actor, action="alert_rule.set", target=f"alert:{rule.name}",
                details={**self._subject(conn, rule.endpoint), "rule": _row(rule),
                         "previous": None if previous is None else _row(_rule(previous._mapping))},
                reason=reason,
            )  # fmt: skip
        return self.get_rule(rule.name)

    def get_rule(self, name: str) -> AlertRule:
        with read(self.engine) as conn:
            row = conn.execute(sa.select(alert_rules).where(alert_rules.c.name == name)).first()
            if row is None:
                known = conn.execute(sa.select(alert_rules.c.name).order_by(alert_rules.c.name))
                raise NotFound(
                    f"Unknown alert rule {name!r}. Rules: {', '.join(known.scalars()) or '(none)'}."
                )
            return _rule(row._mapping)

    def list_rules(self) -> list[AlertRule]:
        with read(self.engine) as conn:
            rows = conn.execute(sa.select(alert_rules).order_by(alert_rules.c.name))
            return [_rule(r._mapping) for r in rows]

    def delete_rule(self, name: str, *, actor: str, reason: str = "") -> None:
        rule = self.get_rule(name)
        with write(self.engine) as conn:
            conn.execute(alert_rules.delete().where(alert_rules.c.name == name))
            audit.record(
                conn, at=self.clock.now(), actor=actor, action="alert_rule.delete",
                target=f"alert:{name}",
                details={**self._subject(conn, rule.endpoint), "rule": rule.to_json()},
                reason=reason,
            )  # fmt: skip

    # -- alerts --------------------------------------------------------------------------

    def list_alerts(self, state: str | None = None, limit: int = 100) -> list[Alert]:
        """Newest first; ``state`` is ``open`` or ``resolved``."""
        query = sa.select(alerts).order_by(alerts.c.id.desc()).limit(limit)
        if state is not None:
            check_choice("list_alerts", "state", state, STATES)
            query = query.where(alerts.c.state == state)
        with read(self.engine) as conn:
            return [_alert(r._mapping) for r in conn.execute(query)]

    def evaluate(self) -> list[Alert]:
        """Evaluate every rule now; return the alerts opened or resolved by this round."""
        now = self.clock.now()
        cache = SignalCache(self.monitor, on_drift=self._observe_drift)
        values: dict[str, float | None] = {}
        rules = self.list_rules()
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
            resolved = _alert({**current._mapping, **update})
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
        opened = _alert({**row, "id": int(new_id[0])})
        self._audit(conn, opened, now, message)
        return [opened]

    def _audit(self, conn: sa.Connection, alert: Alert, now: datetime, reason: str) -> None:
        action = "alert.open" if alert.state == "open" else "alert.resolve"
        audit.record(
            conn, at=now, actor="alerts", action=action, target=alert.endpoint,
            details={
                **self._subject(conn, alert.endpoint), "alert": alert.id, "rule": alert.rule,
                "metric": alert.metric, "value": alert.last_value, "threshold": alert.threshold,
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

    def _subject(self, conn: sa.Connection, endpoint: str) -> dict[str, Any]:
        """The endpoint and the model(s) it serves now, for the audit record's details."""
        if self.endpoints is None:
            return audit.subject(endpoint=endpoint)
        try:
            config = self.endpoints.get(endpoint.partition(":")[0], conn=conn)
        except NotFound:
            return audit.subject(endpoint=endpoint)
        return audit.subject(self.endpoints.models(config.policy, config.params), endpoint)

    # -- notification --------------------------------------------------------------------

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
            sink = build_sink(config, self.sinks)
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

    # -- metrics -------------------------------------------------------------------------

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


def _row(rule: AlertRule) -> dict[str, Any]:
    return {
        "endpoint": rule.endpoint, "metric": rule.metric, "operator": rule.operator,
        "threshold": rule.threshold, "window_seconds": rule.window_seconds,
        "severity": rule.severity, "cooldown_seconds": rule.cooldown_seconds,
        "sinks": [dict(s) for s in rule.sinks], "description": rule.description,
    }  # fmt: skip


def _rule(row: Mapping[str, Any] | sa.RowMapping) -> AlertRule:
    return AlertRule(
        name=row["name"], endpoint=row["endpoint"], metric=row["metric"],
        threshold=row["threshold"], operator=row["operator"],
        window_seconds=row["window_seconds"], severity=row["severity"],
        cooldown_seconds=row["cooldown_seconds"], sinks=tuple(row["sinks"]),
        description=row["description"], updated_at=row["updated_at"],
        updated_by=row["updated_by"],
    )  # fmt: skip


def _alert(row: Mapping[str, Any] | sa.RowMapping) -> Alert:
    return Alert(**{k: row[k] for k in Alert.__dataclass_fields__})
