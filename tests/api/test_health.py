"""Liveness, readiness and the health summary say what is wrong, check by check."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from champion.api import create_app
from champion.services import Services
from champion.settings import Settings
from tests.conftest import ModelFolders, local_client
from tests.fixtures.faults import tables_locked, until, writes_refused


@pytest.fixture
def quick(settings: Settings) -> Settings:
    return settings.model_copy(update={"ready_check_seconds": 0.01})


@pytest.fixture
def churn(services: Services, model_folder: ModelFolders) -> Services:
    services.registry.register(
        model_folder("constant"), model="churn", actor="tests", aliases_to_set=("champion",)
    )
    services.endpoints.set("churn", "single", {"version": "churn@champion"}, actor="tests")
    return services


@pytest.fixture
def api(churn: Services, quick: Settings) -> Iterator[TestClient]:
    with local_client(create_app(quick)) as test_client:
        yield test_client


def _ready_gauges(client: TestClient) -> dict[str, float]:
    families = text_string_to_metric_families(client.get("/metrics").text)
    return {
        sample.labels["check"]: sample.value
        for family in families
        if family.name == "champion_ready"
        for sample in family.samples
    }


def test_a_healthy_server_is_live_and_ready(api: TestClient) -> None:
    assert api.get("/v1/health/live").json()["status"] == "live"
    ready = api.get("/v1/health/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready"
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "ok",
        "artifacts": "ok",
        "events": "ok",
    }
    assert body["checks"]["artifacts"]["versions"] == 1
    summary = api.get("/v1/health").json()
    assert (summary["status"], summary["database"], summary["endpoints"]) == (
        "ok",
        "ok",
        {"churn": "ok"},
    )
    assert _ready_gauges(api) == {"database": 1.0, "artifacts": 1.0, "events": 1.0}
    assert api.get("/v2/health/ready").json() == {"ready": True}


def test_a_database_that_answers_reads_but_refuses_writes_is_not_ready(
    api: TestClient, quick: Settings
) -> None:
    with writes_refused(quick):
        ready = api.get("/v1/health/ready")
        summary = api.get("/v1/health")
        live = api.get("/v1/health/live")
        gauges = _ready_gauges(api)
        v2 = api.get("/v2/health/ready")
    assert ready.status_code == 503
    database = ready.json()["checks"]["database"]
    assert database["status"] == "error"
    assert database["error"].startswith("The database refused a write: ")
    assert ready.json()["checks"]["artifacts"]["status"] == "ok"
    assert live.status_code == 200  # the process serves: nothing to restart
    assert summary.status_code == 200  # today's callers read the body
    assert summary.json()["status"] == "degraded"
    assert summary.json()["database"].startswith("error: The database refused a write")
    assert gauges["database"] == 0.0 and gauges["artifacts"] == 1.0
    assert v2.status_code == 400 and v2.json() == {"ready": False}
    until("readiness after the database is back", lambda: api.get("/v1/health/ready").is_success)


def test_a_missing_blob_of_a_served_version_is_not_ready(api: TestClient, churn: Services) -> None:
    version = churn.registry.resolve("churn@champion")
    relative, sha256 = sorted(version.files.items())[0]
    (churn.settings.artifacts_dir / sha256[:2] / sha256).unlink()

    ready = api.get("/v1/health/ready")

    assert ready.status_code == 503
    artifacts = ready.json()["checks"]["artifacts"]
    assert artifacts["status"] == "error"
    assert f"churn/1: {relative} (sha256 {sha256[:12]}" in artifacts["error"]
    assert ready.json()["checks"]["database"]["status"] == "ok"
    assert _ready_gauges(api)["artifacts"] == 0.0


def test_events_waiting_in_the_spool_make_the_server_not_ready_until_replayed(
    api: TestClient, quick: Settings
) -> None:
    row = {"tenure": 3, "charges": 12.5, "contract": "Month-to-month"}
    with tables_locked(quick):
        answer = api.post("/v1/endpoints/churn/predict", json={"instances": [row]})
        assert answer.status_code == 200
        until(
            "the event to be spooled",
            lambda: api.get("/v1/health").json()["events"]["spooled"] == 1,
        )
        ready = api.get("/v1/health/ready")
    assert ready.status_code == 503
    events = ready.json()["checks"]["events"]
    assert events["status"] == "error" and "wait in the local spool" in events["error"]
    until("the spool to be replayed", lambda: api.get("/v1/health/ready").is_success)
    summary = api.get("/v1/health").json()["events"]
    assert (summary["replayed"], summary["dropped"], summary["spool_bytes"]) == (1, 0, 0)
