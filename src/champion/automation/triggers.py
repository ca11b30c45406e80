"""Alert triggers: an open alert of a rule a pipeline names in ``on_alert`` starts a run.

The scheduler asks at every tick. Each (pipeline, alert) pair is answered once, by one run,
recorded in ``pipeline_alerts`` in the transaction that queues the run: an alert that stays
open across evaluations triggers nothing more, and two schedulers racing for the same alert
cannot both queue a run (the second one's insert fails on the primary key and its run rolls
back). The run's ``trigger`` is ``drift`` or ``decay`` after the rule's metric (``alert`` for
other metrics); its reason quotes the alert and its summary keeps the alerts it answers.

An alert opening while a run of the pipeline is queued or running, or within
``on_alert.cooldown`` of the last alert-triggered run, waits: it starts a run once both have
passed, if it is still open then. Several alerts waiting together start one run.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from champion.alerts.signals import signal_kind
from champion.alerts.tables import alert_rules, alerts
from champion.automation.runs import RunStore
from champion.automation.spec import AlertTriggerSpec, PipelineSpec
from champion.automation.tables import pipeline_alerts, pipeline_runs
from champion.clock import Clock
from champion.db import read, write
from champion.errors import InvalidInput

__all__ = ["answer_alerts", "check_alert_rules"]


def check_alert_rules(conn: sa.Connection, spec: PipelineSpec) -> None:
    """Refuse a pipeline naming alert rules that do not exist."""
    if spec.on_alert is None:
        return
    known = set(conn.execute(sa.select(alert_rules.c.name)).scalars())
    unknown = [rule for rule in spec.on_alert.rules if rule not in known]
    if unknown:
        listed = ", ".join(sorted(known)) or "(none)"
        raise InvalidInput(
            f"on_alert.rules: unknown alert rule(s) {unknown!r}. Rules: {listed}. Create a rule "
            f"first: PUT /v1/alerts/rules/{unknown[0]} or champion alerts set {unknown[0]}."
        )


def answer_alerts(
    engine: sa.Engine,
    runs: RunStore,
    clock: Clock,
    name: str,
    revision: int,
    spec: PipelineSpec,
) -> int | None:
    """Queue a run of pipeline ``name`` for its open, unanswered alerts; the run's id or None."""
    trigger = spec.on_alert
    if trigger is None:
        return None
    waiting = _unanswered(engine, name, trigger)
    if not waiting:
        return None
    now = clock.now()
    try:
        with write(engine) as conn:
            if _busy(conn, name) or _cooling(conn, name, now, trigger):
                return None
            first = waiting[0]
            more = f" (and {len(waiting) - 1} more alert(s))" if len(waiting) > 1 else ""
            kinds = {signal_kind(a["metric"]) for a in waiting}
            kind = "drift" if "drift" in kinds else "decay" if "decay" in kinds else "alert"
            run_id = runs.create(
                conn,
                name,
                revision,
                spec.to_json(),
                trigger=kind,
                reason=f"alert {first['id']} of rule {first['rule']}: {first['message']}{more}",
                actor="scheduler",
                details={"alerts": [a["id"] for a in waiting]},
                summary={"alerts": [_quoted(a) for a in waiting]},
            )
            conn.execute(
                pipeline_alerts.insert(),
                [{"pipeline": name, "alert_id": a["id"], "run_id": run_id} for a in waiting],
            )
    except sa.exc.IntegrityError:
        return None  # another scheduler answered these alerts first
    return run_id


def _unanswered(engine: sa.Engine, name: str, trigger: AlertTriggerSpec) -> list[dict[str, Any]]:
    answered = sa.select(pipeline_alerts.c.alert_id).where(pipeline_alerts.c.pipeline == name)
    query = (
        sa.select(alerts)
        .where(
            alerts.c.rule.in_(trigger.rules)
            & (alerts.c.state == "open")
            & alerts.c.id.not_in(answered)
        )
        .order_by(alerts.c.id)
    )
    with read(engine) as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def _busy(conn: sa.Connection, name: str) -> bool:
    count = conn.execute(
        sa.select(sa.func.count()).where(
            (pipeline_runs.c.pipeline == name) & pipeline_runs.c.status.in_(("queued", "running"))
        )
    ).scalar_one()
    return bool(count)


def _cooling(conn: sa.Connection, name: str, now: datetime, trigger: AlertTriggerSpec) -> bool:
    answered = pipeline_alerts.join(pipeline_runs, pipeline_alerts.c.run_id == pipeline_runs.c.id)
    last: datetime | None = conn.execute(
        sa.select(sa.func.max(pipeline_runs.c.created_at))
        .select_from(answered)
        .where(pipeline_alerts.c.pipeline == name)
    ).scalar_one_or_none()
    return last is not None and now - last < timedelta(seconds=trigger.cooldown_seconds)


def _quoted(alert: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": alert["id"],
        "rule": alert["rule"],
        "endpoint": alert["endpoint"],
        "metric": alert["metric"],
        "value": alert["value"],
        "threshold": alert["threshold"],
        "severity": alert["severity"],
        "message": alert["message"],
        "opened_at": alert["opened_at"].isoformat(),
    }
