"""Alert rules (stored, audited) and the history of the alerts they opened and resolved."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from champion import audit
from champion.alerts.rules import Alert, AlertRule
from champion.alerts.signals import METRICS
from champion.alerts.sinks import SinkFactory, build_sink, default_sinks
from champion.alerts.tables import alert_rules, alerts
from champion.clock import Clock
from champion.db import read, write
from champion.errors import NotFound
from champion.plugins import Registry
from champion.serving.endpoints import Endpoints
from champion.validation import check_choice

__all__ = ["STATES", "AlertStore", "alert_from_row", "subject_of"]

STATES = ("open", "resolved")


class AlertStore:
    """The rules, each change audited with the endpoint's model(s), and the alerts' history.

    ``sinks`` are the sink types a rule may name (each rule's sinks are built once when it is
    stored, so a bad one is refused then); ``endpoints``, when given, checks a rule's stage
    and names the models an audit record is about.
    """

    def __init__(
        self,
        engine: sa.Engine,
        clock: Clock,
        *,
        sinks: Registry[SinkFactory] | None = None,
        endpoints: Endpoints | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.sinks = sinks or default_sinks()
        self.endpoints = endpoints

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
                details={**subject_of(self.endpoints, conn, rule.endpoint), "rule": _row(rule),
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
                details={**subject_of(self.endpoints, conn, rule.endpoint), "rule": rule.to_json()},
                reason=reason,
            )  # fmt: skip

    def list_alerts(self, state: str | None = None, limit: int = 100) -> list[Alert]:
        """Newest first; ``state`` is ``open`` or ``resolved``."""
        query = sa.select(alerts).order_by(alerts.c.id.desc()).limit(limit)
        if state is not None:
            check_choice("list_alerts", "state", state, STATES)
            query = query.where(alerts.c.state == state)
        with read(self.engine) as conn:
            return [alert_from_row(r._mapping) for r in conn.execute(query)]


def subject_of(endpoints: Endpoints | None, conn: sa.Connection, endpoint: str) -> dict[str, Any]:
    """The endpoint and the model(s) it serves now, for an audit record's details."""
    if endpoints is None:
        return audit.subject(endpoint=endpoint)
    try:
        config = endpoints.get(endpoint.partition(":")[0], conn=conn)
    except NotFound:
        return audit.subject(endpoint=endpoint)
    return audit.subject(endpoints.models(config.policy, config.params), endpoint)


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


def alert_from_row(row: Mapping[str, Any] | sa.RowMapping) -> Alert:
    return Alert(**{k: row[k] for k in Alert.__dataclass_fields__})
