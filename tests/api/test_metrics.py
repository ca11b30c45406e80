"""GET /metrics: parsed by prometheus_client's own parser, names by Prometheus conventions."""

from __future__ import annotations

import re
import time

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from champion.services import Services
from tests.conftest import ModelFolders, wait_until_written
from tests.drift.traffic import customers, register_scorer, serve

ROW = {"tenure": 3, "charges": 12.5, "contract": "Month-to-month"}
NAME = re.compile(r"^champion_[a-z][a-z0-9_]*$")
# prometheus-client's own process, GC and platform collectors keep their standard names.
STANDARD = re.compile(r"^(process|python)_[a-z][a-z0-9_]*$")
# Base units Prometheus recommends, as name suffixes.
UNITS = ("_seconds", "_bytes", "_ratio")


def _samples(client: TestClient) -> tuple[dict[str, str], list[Sample]]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    kinds: dict[str, str] = {}
    samples: list[Sample] = []
    for family in text_string_to_metric_families(response.text):
        kinds[family.name] = family.type
        samples += family.samples
    return kinds, samples


def _follow_conventions(kinds: dict[str, str], samples: list[Sample]) -> None:
    for name, kind in kinds.items():
        assert NAME.match(name) or STANDARD.match(name), name
        assert not name.endswith("_total"), f"{name}: the parser strips _total from counters"
        if kind == "histogram":
            assert name.endswith(UNITS), f"histogram {name} has no unit suffix"
    for sample in samples:
        kind = kinds[max((n for n in kinds if sample.name.startswith(n)), key=len)]
        if kind == "counter":
            assert sample.name.endswith(("_total", "_created")), sample.name
        if kind == "gauge":
            assert sample.name in kinds, sample.name


def _value(samples: list[Sample], name: str, **labels: str) -> float:
    return sum(s.value for s in samples if s.name == name and labels.items() <= s.labels.items())


def test_metrics_parse_and_follow_the_naming_conventions(
    served: Services, client: TestClient, model_folder: ModelFolders
) -> None:
    served.registry.register(model_folder("failing"), model="churn", actor="tests")
    for _ in range(3):
        assert client.post("/v1/endpoints/churn/predict", json={"instances": [ROW]}).is_success
    assert client.post("/v1/endpoints/churn/predict", json={"instances": [{}]}).status_code == 422
    answer = client.post("/v1/endpoints/recs/rank", json={"unit": "u", "k": 2}).json()
    feedback = {"request_id": answer["request_id"], "kind": "click", "item": "a"}
    assert client.post("/v1/feedback", json=feedback).status_code == 201
    canary = {"champion": "churn/1", "challenger": "churn/2", "share": 1.0}
    client.put("/v1/endpoints/churn", json={"policy": "canary", "params": canary})
    assert client.post("/v1/endpoints/churn/predict", json={"instances": [ROW]}).is_success
    wait_until_written(client)  # the event writer's gauge

    kinds, samples = _samples(client)
    _follow_conventions(kinds, samples)
    assert {"champion_predictions", "champion_prediction_latency_seconds"} <= kinds.keys()
    assert kinds["champion_event_queue_depth"] == "gauge"

    served_by_1 = {"endpoint": "churn", "model": "churn", "version": "1"}
    assert _value(samples, "champion_predictions_total", **served_by_1, arm="champion") == 3
    assert (
        _value(samples, "champion_prediction_latency_seconds_count", **served_by_1, arm="champion")
        == 3
    )
    assert _value(samples, "champion_prediction_latency_seconds_count", endpoint="churn") == 4
    assert _value(samples, "champion_prediction_errors_total", code="InvalidInput") == 1
    assert _value(samples, "champion_fallbacks_total", **served_by_1) == 1
    assert _value(samples, "champion_version_failures_total", version="2", reason="error") == 1
    assert _value(samples, "champion_feedback_commit_seconds_count") == 1
    assert _value(samples, "champion_feedback_committed_total") == 1
    assert _value(samples, "champion_event_queue_capacity") == served.settings.event_queue_size
    assert _value(samples, "champion_events_dropped_total") == 0
    assert _value(samples, "champion_build_info") == 1


def test_stats_count_fallbacks_and_failed_requests(
    served: Services, client: TestClient, model_folder: ModelFolders
) -> None:
    served.registry.register(model_folder("failing"), model="churn", actor="tests")
    canary = {"champion": "churn/1", "challenger": "churn/2", "share": 1.0}
    client.put("/v1/endpoints/churn", json={"policy": "canary", "params": canary})
    assert client.post("/v1/endpoints/churn/predict", json={"instances": [ROW]}).is_success
    assert client.post("/v1/endpoints/churn/predict", json={"instances": [{}]}).status_code == 422
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        body = client.get("/v1/endpoints/churn/stats").json()
        if body["versions"]:
            break
        time.sleep(0.05)
    [row] = body["versions"]
    assert (row["version"], row["requests"], row["fallbacks"]) == (1, 1, 1)
    assert body["errors"] == {"InvalidInput": 1}


def test_controller_drift_and_alert_families_parse_and_follow_the_conventions(
    services: Services, client: TestClient, model_folder: ModelFolders
) -> None:
    folder = register_scorer(services, model_folder, customers(1000, seed=1))
    services.registry.register(folder, model="churn", actor="t", aliases_to_set=("challenger",))
    canary = {"champion": "churn@champion", "challenger": "churn@challenger", "share": 0.5}
    client.put("/v1/endpoints/churn", json={"policy": "canary", "params": canary})
    assert client.put("/v1/endpoints/churn/experiment", json={"goal": "click_rate"}).is_success
    # Twenty requests, each its own unit: both versions answer some (with four, the canary's
    # random salt sent every one to the challenger one run in sixteen, and the live version's
    # drift had nothing to judge).
    serve(client, customers(200, seed=2, shift=1.0), batch=10)
    state = client.app.state.champion  # type: ignore[attr-defined]  # set by the lifespan
    [look] = state.controller.tick()
    assert client.get("/v1/endpoints/churn/drift", params={"window": "1h"}).is_success
    rule = {"endpoint": "churn", "metric": "drift_share", "threshold": 0.2, "severity": "critical"}
    assert client.put("/v1/alerts/rules/churn-drift", json=rule).is_success
    assert [a["state"] for a in client.post("/v1/alerts/evaluate").json()["changed"]] == ["open"]
    state.services.alerts.flush()  # the sinks' deliveries, counted once done

    kinds, samples = _samples(client)
    _follow_conventions(kinds, samples)
    assert kinds["champion_controller_decisions"] == "counter"
    assert kinds["champion_controller_leader"] == kinds["champion_alerts_open"] == "gauge"
    decided = {"endpoint": "churn", "decision": look.decision.decision}
    assert _value(samples, "champion_controller_decisions_total", **decided) == 1
    assert _value(samples, "champion_controller_leader") == 1
    assert _value(samples, "champion_drift_drifted_columns_ratio", endpoint="churn") >= 0.5
    statistics = [s for s in samples if s.name == "champion_drift_statistic"]
    assert {s.labels["column"] for s in statistics} >= {"tenure", "charges", "contract"}
    assert _value(samples, "champion_alerts_open", severity="critical") == 1
    assert _value(samples, "champion_alerts_open", severity="warning") == 0
    sent = {"sink": "log", "outcome": "sent"}
    assert _value(samples, "champion_alert_notifications_total", **sent) == 1
