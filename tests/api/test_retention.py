"""The server enforces retention on the leader, counts it, and says when it falls behind."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from champion.api import create_app
from champion.clock import FixedClock
from champion.db import read
from champion.db.locks import LeaderLock
from champion.events.rollup_tables import MERGED, rollups
from champion.events.rollups import fold
from champion.events.tables import predictions
from champion.services import Services
from champion.settings import Settings
from tests.conftest import ModelFolders, local_client, wait_until_written

ROW = {"tenure": 3, "charges": 12.5, "contract": "Month-to-month"}
START = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def churn(settings: Settings, clock: FixedClock, model_folder: ModelFolders) -> Iterator[Services]:
    services = Services.open(settings, clock)
    services.registry.register(
        model_folder("constant"), model="churn", actor="t", aliases_to_set=("champion",)
    )
    services.endpoints.set("churn", "single", {"version": "churn@champion"}, actor="t")
    yield services
    services.close()


def _server(settings: Settings, clock: FixedClock, **update: object) -> TestClient:
    # Every readiness call runs the checks afresh: the clock moves between calls.
    # Drift days off: their guard would hold every prediction of a day not summarised yet.
    quick = {
        "ready_check_seconds": 1e-9,
        "controller": False,
        "scheduler": False,
        "drift_days_interval_seconds": 0.0,
    }
    return local_client(create_app(settings.model_copy(update={**quick, **update}), clock))


def _predict(client: TestClient, count: int) -> list[str]:
    ids = []
    for n in range(count):
        response = client.post(
            "/v1/endpoints/churn/predict", json={"unit": f"u{n}", "instances": [ROW]}
        )
        assert response.status_code == 200, response.text
        ids.append(response.json()["request_id"])
    wait_until_written(client)
    return ids


def _fold_all(services: Services) -> None:
    with services.engine.begin() as conn:
        conn.execute(sa.update(predictions).values(folded=True))


def _kept(services: Services) -> int:
    with read(services.engine) as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(predictions)).scalar_one())


def _metrics(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(client.get("/metrics").text)
        for sample in family.samples
    }


def _wait(condition: object, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]  # a callable
        assert time.monotonic() < deadline, "the server's retention did not act in time"
        time.sleep(0.02)


def test_the_server_deletes_on_the_leader_only_and_counts_it(
    settings: Settings, clock: FixedClock, churn: Services
) -> None:
    other_leader = LeaderLock(churn.engine, "retention")
    assert other_leader.acquire()  # another server holds the retention lock
    interval = 0.05
    with _server(
        settings, clock, keep_predictions=timedelta(days=1), retention_interval_seconds=interval
    ) as client:
        _predict(client, 3)
        _fold_all(churn)
        clock.at += timedelta(days=2)
        time.sleep(40 * interval)  # forty rounds in which a leader would have deleted them
        assert _kept(churn) == 3
        other_leader.release()  # that server stops: this one takes over
        _wait(lambda: _kept(churn) == 0)
        found = _metrics(client)
        assert found[("champion_retention_deleted_rows_total", (("table", "predictions"),))] == 3
        assert found[("champion_retention_last_pass_seconds", ())] > 0


def test_the_oldest_kept_row_is_a_metric_read_at_each_scrape(
    settings: Settings, clock: FixedClock, churn: Services
) -> None:
    with _server(settings, clock) as client:
        assert not any(
            n == "champion_event_oldest_row_timestamp_seconds" for n, _ in _metrics(client)
        )
        _predict(client, 2)
        found = _metrics(client)
        key = ("champion_event_oldest_row_timestamp_seconds", (("table", "predictions"),))
        assert found[key] == START.timestamp()


def test_readiness_warns_when_retention_is_behind_and_says_why(
    settings: Settings, clock: FixedClock, churn: Services
) -> None:
    keep = {"keep_predictions": timedelta(days=1), "retention_interval_seconds": 3600.0}
    with _server(settings, clock, **keep) as client:
        _predict(client, 2)
        clock.at += timedelta(days=1, hours=12)  # past the horizon, not yet twice it
        assert client.get("/v1/health/ready").json()["checks"]["retention"]["status"] == "ok"

        clock.at += timedelta(days=1)
        ready = client.get("/v1/health/ready")
        assert ready.status_code == 200  # old rows never stop a server from serving
        check = ready.json()["checks"]["retention"]
        assert check["status"] == "warning"
        assert "retention behind: predictions" in check["error"]
        assert "not folded" in check["error"]
        assert client.get("/v1/health").json()["status"] == "degraded"
        gauge = ("champion_ready", (("check", "retention"),))
        assert _metrics(client)[gauge] == 0

        _fold_all(churn)
        check = client.get("/v1/health/ready").json()["checks"]["retention"]
        assert "wait for the next retention pass" in check["error"]

        client.app.state.champion.retention.run()  # type: ignore[attr-defined]  # set by the lifespan
        check = client.get("/v1/health/ready").json()["checks"]["retention"]
        assert check == {"status": "ok", "predictions": None, "feedback": None}
        assert client.get("/v1/health").json()["status"] == "ok"


def test_without_a_horizon_there_is_no_retention_check(
    settings: Settings, clock: FixedClock, churn: Services
) -> None:
    with _server(settings, clock) as client:
        assert "retention" not in client.get("/v1/health/ready").json()["checks"]
        assert client.app.state.champion.retention is None  # type: ignore[attr-defined]  # set by the lifespan


def test_while_drift_days_are_stored_predictions_wait_for_their_day_to_be_summarised(
    settings: Settings, clock: FixedClock, churn: Services
) -> None:
    keep = {"keep_predictions": timedelta(days=1), "drift_days_interval_seconds": 600.0}
    services = Services.open(settings.model_copy(update=keep), clock)
    try:
        retention = services.retention
        assert [name for name, _ in retention.guards["predictions"]] == ["drift days"]
        with _server(settings, clock, **keep, retention_interval_seconds=3600.0) as client:
            _predict(client, 3)
        _fold_all(churn)
        clock.at += timedelta(days=2)
        assert retention.run().deleted["predictions"] == 0  # no day is summarised yet
        services.drift_days.run()  # what the server's leader does every 10 minutes
        clock.at += timedelta(days=3)  # past the days a pass still rechecks for late rows
        assert retention.run().deleted["predictions"] == 3
    finally:
        services.close()


@pytest.mark.slow(seconds=7)
def test_the_server_compacts_unit_rollups_in_its_retention_pass_and_counts_it(
    settings: Settings, clock: FixedClock, churn: Services
) -> None:
    # Only the unit rollups have a horizon: the pass runs for them alone.
    update = {
        "keep_unit_rollups": timedelta(days=1),
        "retention_interval_seconds": 0.05,
        "fold_interval_seconds": 0.05,
    }
    with _server(settings, clock, **update) as client:
        _predict(client, 3)
        fold(churn.engine, clock.now())
        clock.at += timedelta(days=2)
        rows = ("champion_compaction_rows_total", (("table", "rollups"),))
        # Counted once the pass is over, after its last batch committed.
        _wait(lambda: _metrics(client).get(rows) == 3, seconds=60)
        assert _units(churn) == [MERGED]
        found = _metrics(client)
        assert found[("champion_compaction_segments_total", ())] == 1
        assert found[("champion_compaction_last_pass_seconds", ())] > 0
        assert _kept(churn) == 3  # raw events are kept forever


def _units(services: Services) -> list[str]:
    with read(services.engine) as conn:
        return sorted(conn.execute(sa.select(rollups.c.unit)).scalars())
