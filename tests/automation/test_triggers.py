"""Drift and decay alerts start pipeline runs: once per alert, after the cooldown, recorded."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from champion import audit
from champion.db import read
from champion.errors import InvalidInput
from tests.automation.loop import PIPELINE, Loop, loop, newcomers
from tests.automation.trainers import customers, spec, write_batch

__all__ = ["loop"]

ON_ALERT = {"rules": ["churn-drift", "churn-decay"], "cooldown": "6h"}


def test_a_drift_alert_starts_one_run_that_records_it(loop: Loop) -> None:
    loop.rule("churn-drift", "drift_share", 0.3, window="1h", cooldown="1h")
    loop.rule("churn-decay", "accuracy", 0.5, operator="below", window="1h")
    loop.first_version(on_alert=ON_ALERT)
    assert loop.scheduler.tick() == []  # no alert: no run
    write_batch(loop.incoming, "week-2.csv", newcomers(150, seed=2).assign(churned=1))
    loop.serve(newcomers(150, seed=3))
    loop.later(minutes=5)

    opened = loop.services.alerts.evaluate()
    executed = loop.scheduler.tick()

    assert [(a.rule, a.state) for a in opened] == [("churn-drift", "open")]
    run = loop.runs()[-1]
    assert executed == [run.id] and (run.trigger, run.actor) == ("drift", "scheduler")
    assert run.reason.startswith(f"alert {opened[0].id} of rule churn-drift: churn-drift on")
    assert [a["rule"] for a in run.summary["alerts"]] == ["churn-drift"]
    assert run.status == "succeeded" and run.version == 2, run.error
    body = loop.client.get(f"/v1/pipelines/{PIPELINE}/runs/{run.id}").json()
    assert body["alerts"][0]["id"] == opened[0].id and body["trigger"] == "drift"
    # Still open at the next evaluations: no second run.
    loop.later(minutes=5)
    assert loop.services.alerts.evaluate() == []
    assert loop.scheduler.tick() == [] and len(loop.runs()) == 2
    with read(loop.services.engine) as conn:
        queued = audit.list_audit(conn, action="pipeline.run.queue", limit=1)[0]
        opening = audit.list_audit(conn, action="alert.open", limit=1)[0]
    assert (queued.actor, queued.details["trigger"], queued.details["alerts"]) == (
        "scheduler", "drift", [opened[0].id])  # fmt: skip
    assert queued.reason == run.reason
    assert (opening.actor, opening.target, opening.details["model"]) == ("alerts", "churn", "churn")


def test_decay_waits_for_the_cooldown_and_a_running_run(loop: Loop) -> None:
    loop.rule("churn-drift", "drift_share", 0.3, window="1h")
    loop.rule("churn-decay", "accuracy", 0.5, operator="below", window="1h", cooldown="0s")
    loop.first_version(on_alert=ON_ALERT)
    ordinary = customers(120, seed=4)
    # The model predicts mostly "stays" for these customers; they all left.
    loop.serve(ordinary, labels=[1] * len(ordinary))
    loop.later(minutes=5)
    opened = loop.services.alerts.evaluate()
    assert [a.rule for a in opened] == ["churn-decay"]
    queued = loop.services.pipelines.trigger(PIPELINE, reason="by hand", actor="bob")

    assert loop.scheduler.tick() == [queued.id]  # busy: the alert waits for that run

    first = loop.runs()[-1]
    assert loop.scheduler.tick() == [first.id + 1]
    decay = loop.runs()[-1]
    assert (decay.trigger, decay.summary["alerts"][0]["metric"]) == ("decay", "accuracy")
    assert decay.status == "skipped"  # the data did not change since version 1
    # The decay alert resolves and opens again: within the 6 h cooldown it waits...
    loop.later(hours=2)
    loop.serve(ordinary, labels=[0] * len(ordinary))  # these stayed: mostly right
    loop.later(minutes=5)
    assert [a.state for a in loop.services.alerts.evaluate()] == ["resolved"]
    loop.later(hours=2)
    loop.serve(ordinary, labels=[1] * len(ordinary))
    loop.later(minutes=5)
    again = loop.services.alerts.evaluate()
    assert [(a.rule, a.state) for a in again] == [("churn-decay", "open")]
    assert loop.scheduler.tick() == []
    # ...and starts a run once it is over, if still open.
    loop.later(hours=4)
    assert loop.services.alerts.evaluate() == []  # still open
    assert len(loop.scheduler.tick()) == 1
    assert loop.runs()[-1].summary["alerts"][0]["id"] == again[0].id


def test_a_pipeline_names_only_alert_rules_that_exist(loop: Loop) -> None:
    with pytest.raises(InvalidInput, match=r"on_alert.rules: unknown alert rule\(s\) \['nope'\]"):
        loop.services.pipelines.apply(
            spec(loop.incoming, on_alert={"rules": ["nope"]}), actor="alice"
        )
    client: TestClient = loop.client
    body = spec(loop.incoming).to_json() | {"on_alert": {"rules": ["x"], "cooldown": "soon"}}
    body.pop("name")
    bad = client.put(f"/v1/pipelines/{PIPELINE}", json={"spec": body})
    assert bad.status_code == 422 and "on_alert.cooldown" in bad.json()["error"]["message"]
