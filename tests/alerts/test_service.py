from __future__ import annotations

import logging
import time
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from champion import audit
from champion.alerts import AlertRule
from champion.api import create_app
from champion.clock import FixedClock
from champion.db import read
from champion.demo.receiver import WebhookReceiver
from champion.server_process import free_port
from champion.settings import Settings
from tests.alerts.conftest import START, services_of
from tests.conftest import ModelFolders, local_client
from tests.drift.traffic import customers, register_scorer, serve


def _rule(url: str, **overrides: object) -> AlertRule:
    params: dict[str, object] = {
        "endpoint": "churn", "metric": "drift_share", "threshold": 0.3, "window": "1h",
        "cooldown": "3h", "severity": "critical",
        "sinks": [{"type": "log"}, {"type": "webhook", "url": url, "backoff_seconds": 0.0}],
    } | overrides  # fmt: skip
    return AlertRule.create("churn-drift", **params)  # type: ignore[arg-type]  # test params


def test_a_rule_opens_resolves_and_respects_its_cooldown(
    app: TestClient, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    alerts = services_of(app).alerts
    dead = f"http://127.0.0.1:{free_port()}/nobody-listens"
    with WebhookReceiver() as receiver:
        rule = _rule(receiver.url)
        failing = {"type": "webhook", "url": dead, "retries": 1, "backoff_seconds": 0.0}
        alerts.put_rule(
            AlertRule.create(
                "churn-drift", endpoint="churn", metric="drift_share", threshold=0.3,
                window="1h", cooldown="3h", severity="critical", sinks=[failing, *rule.sinks],
            ),
            actor="alice", reason="page me on drift",
        )  # fmt: skip
        assert alerts.evaluate() == []  # nothing served yet: nothing to say
        serve(app, customers(500, seed=2, shift=1.0))
        clock.at = START + timedelta(minutes=5)
        with caplog.at_level(logging.CRITICAL, logger="champion.alerts"):
            opened = alerts.evaluate()
            alerts.flush()
        assert [(a.state, a.severity) for a in opened] == [("open", "critical")]
        assert "churn-drift on endpoint churn" in opened[0].message
        assert "[critical] open: churn-drift" in caplog.text
        assert alerts.evaluate() == []  # still drifting: the open alert is updated, not re-sent
        # An hour later only ordinary customers are in the window: the alert resolves.
        clock.at = START + timedelta(hours=2)
        serve(app, customers(500, seed=3))
        clock.at = START + timedelta(hours=2, minutes=5)
        resolved = alerts.evaluate()
        assert [a.state for a in resolved] == ["resolved"]
        # Drift again within the cooldown (3 h after the opening): no new alert...
        clock.at = START + timedelta(hours=2, minutes=30)
        serve(app, customers(500, seed=4, shift=1.0))
        clock.at = START + timedelta(hours=2, minutes=35)
        assert alerts.evaluate() == []
        # ...and after it, a new one.
        clock.at = START + timedelta(hours=3, minutes=10)
        assert [a.state for a in alerts.evaluate()] == ["open"]
        alerts.flush()
    states = [item["alert"]["state"] for item in receiver.received]
    assert states == ["open", "resolved", "open"]
    history = alerts.list_alerts()
    assert [a.state for a in history] == ["open", "resolved"]
    first = history[1]
    assert first.deliveries[f"open webhook {receiver.url}"] == "sent"
    assert first.deliveries[f"open webhook {dead}"].startswith("error: Webhook")
    assert first.deliveries["resolved log"] == "sent"
    assert [a.id for a in alerts.list_alerts("open")] == [history[0].id]
    metrics = app.get("/metrics").text
    assert 'champion_alerts_open{severity="critical"} 1.0' in metrics
    assert 'champion_alert_notifications_total{outcome="failed",sink="webhook"} 3.0' in metrics


def test_rules_are_managed_over_http_and_audited(app: TestClient) -> None:
    body = {"endpoint": "churn", "metric": "quality_bad_share", "threshold": 0.05, "window": "30m"}
    response = app.put("/v1/alerts/rules/bad-rows", json=body | {"reason": "watch inputs"})
    assert response.status_code == 200, response.text
    assert response.json()["window_seconds"] == 1800 and response.json()["sinks"] == [
        {"type": "log"}
    ]
    assert app.get("/v1/alerts/rules/bad-rows").json()["metric"] == "quality_bad_share"
    assert [r["name"] for r in app.get("/v1/alerts/rules").json()["rules"]] == ["bad-rows"]
    wrong = app.put("/v1/alerts/rules/x", json=body | {"metric": "drift"})
    assert wrong.status_code == 422 and "'metric' parameter of AlertRule" in wrong.text
    sink = app.put("/v1/alerts/rules/x", json=body | {"sinks": [{"type": "webhook", "url": "x"}]})
    assert sink.status_code == 422 and "'url' parameter of WebhookSink" in sink.text
    assert app.put("/v1/alerts/rules/x", json=body | {"window": "later"}).status_code == 422
    assert app.delete("/v1/alerts/rules/bad-rows").status_code == 204
    missing = app.get("/v1/alerts/rules/bad-rows")
    assert missing.status_code == 404 and "Unknown alert rule 'bad-rows'" in missing.text
    with read(services_of(app).engine) as conn:
        actions = [r.action for r in audit.list_audit(conn, target="alert:bad-rows")]
    assert actions == ["alert_rule.delete", "alert_rule.set"]
    assert app.get("/v1/alerts", params={"state": "gone"}).status_code == 422


@pytest.mark.slow(seconds=4)
def test_the_server_evaluates_rules_on_its_schedule(
    tmp_path: Path, database_url: str | None, model_folder: ModelFolders
) -> None:
    settings = Settings(
        home=tmp_path / "scheduled", database_url=database_url, event_flush_seconds=0.02,
        alert_interval_seconds=0.1,
    )  # fmt: skip
    with local_client(create_app(settings)) as client, WebhookReceiver() as receiver:
        register_scorer(services_of(client), model_folder, customers(3000, seed=1))
        services_of(client).alerts.put_rule(_rule(receiver.url), actor="tests")
        serve(client, customers(500, seed=5, shift=1.0))
        # A wait, not a timing assertion: a loaded CI machine may take a while.
        deadline = time.monotonic() + 30
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [a["state"] for a in client.get("/v1/alerts").json()["alerts"]] == ["open"]
        assert receiver.received[0]["alert"]["rule"] == "churn-drift"
        # The evaluation ran in the server's worker process; its metrics show on /metrics.
        opened = 'champion_alerts_open{severity="critical"} 1.0'
        while opened not in client.get("/metrics").text and time.monotonic() < deadline:
            time.sleep(0.05)
        metrics = client.get("/metrics").text
        assert opened in metrics
        assert 'champion_drift_drifted_columns_ratio{endpoint="churn"}' in metrics
