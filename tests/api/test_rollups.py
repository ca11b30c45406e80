"""Over HTTP: an experiment's report and /stats read the same before a fold pass, after it,
after late feedback on folded requests, and once the folded raw rows are deleted."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from champion.api import create_app
from champion.db import read, write
from champion.events.folder import RollupFolder
from champion.events.rollups import backlog, fold
from champion.events.tables import feedback, prediction_items, predictions
from champion.services import Services
from champion.settings import Settings
from tests.api.test_experiments import ROW, _canary, _second_version
from tests.conftest import ModelFolders, local_client, wait_until_written
from tests.fixtures.events import EventLog
from tests.fixtures.raw_reports import close


def _answers(client: TestClient) -> dict[str, Any]:
    report = client.get("/v1/endpoints/churn/experiment").json()
    stats = client.get("/v1/endpoints/churn/stats").json()
    return {
        "arms": report["arms"],
        "results": report["results"],
        "health": report["health"],
        "decision": report["decision"]["decision"],
        "stats": stats["versions"],
    }


def _fold(served: Services) -> int:
    return fold(served.engine, served.clock.now() + timedelta(days=1))


def test_reports_are_the_same_before_and_after_folding_and_deleting_raw_rows(
    served: Services, client: TestClient, model_folder: ModelFolders
) -> None:
    _second_version(served, model_folder)
    _canary(client, "churn@champion", "churn@challenger", 0.5)
    design = {"goal": "click_rate", "min_sample": 5}
    started = client.put("/v1/endpoints/churn/experiment", json=design)
    assert started.status_code == 200, started.text
    ids = [
        client.post(
            "/v1/endpoints/churn/predict", json={"unit": f"u{n % 30}", "instances": [ROW]}
        ).json()["request_id"]
        for n in range(60)
    ]
    wait_until_written(client)
    events: list[dict[str, Any]] = [{"request_id": i, "kind": "click"} for i in ids[::3]]
    events += [{"request_id": i, "kind": "purchase", "value": 2.5} for i in ids[::5]]
    events += [{"request_id": i, "kind": "label", "label": n % 2} for n, i in enumerate(ids[::2])]
    client.post("/v1/feedback/batch", json={"events": events}).raise_for_status()
    before = _answers(client)
    assert sum(arm["requests"] for arm in before["arms"]) == 60
    assert {"click_rate", "conversion", "accuracy"} <= set(before["arms"][0]["metrics"])
    assert before["arms"][0]["labels"] and before["arms"][0]["latency_ms"]["p50"] is not None

    assert _fold(served) == 60 + len(events)
    close(_answers(client), before)

    # Feedback on folded requests: read raw until the next pass folds it as a delta.
    late = [{"request_id": i, "kind": "click"} for i in ids[1::3]]
    client.post("/v1/feedback/batch", json={"events": late}).raise_for_status()
    with_late = _answers(client)
    assert with_late != before
    assert _fold(served) == len(late)
    close(_answers(client), with_late)

    with write(served.engine) as conn:
        folded = sa.select(predictions.c.request_id).where(predictions.c.folded)
        conn.execute(prediction_items.delete().where(prediction_items.c.request_id.in_(folded)))
        conn.execute(feedback.delete().where(feedback.c.folded))
        conn.execute(predictions.delete().where(predictions.c.folded))
        assert conn.execute(sa.select(sa.func.count()).select_from(predictions)).scalar_one() == 0
    close(_answers(client), with_late)


def test_the_server_folds_on_its_own_and_counts_what_it_folded(
    served: Services, settings: Settings
) -> None:
    quick = settings.model_copy(update={"fold_interval_seconds": 0.05, "fold_lag_seconds": 0})
    with local_client(create_app(quick)) as client:
        for n in range(5):
            answer = client.post(
                "/v1/endpoints/churn/predict", json={"unit": f"u{n}", "instances": [ROW]}
            )
            answer.raise_for_status()
        wait_until_written(client)
        deadline = time.monotonic() + 20
        while True:
            with read(served.engine) as conn:
                if backlog(conn) == 0:
                    break
            assert time.monotonic() < deadline, "the server never folded its predictions"
            time.sleep(0.05)
        metrics = client.get("/metrics").text
        stats = client.get("/v1/endpoints/churn/stats").json()["versions"]
    assert "champion_events_folded_total 5.0" in metrics
    assert "champion_fold_backlog 0.0" in metrics
    assert [row["requests"] for row in stats] == [5]


def test_past_its_raw_limit_the_server_folds_before_the_lag_and_leaves_the_newest_raw(
    served: Services, settings: Settings
) -> None:
    # A lag no request reaches in the test: only the limit makes the server fold.
    limited = settings.model_copy(
        update={"fold_interval_seconds": 0.05, "fold_lag_seconds": 3600, "fold_max_raw": 2}
    )
    with local_client(create_app(limited)) as client:
        served_ids = []
        for n in range(5):
            answer = client.post(
                "/v1/endpoints/churn/predict", json={"unit": f"u{n}", "instances": [ROW]}
            )
            answer.raise_for_status()
            served_ids.append(answer.json()["request_id"])
            time.sleep(0.01)  # each its own time: the newest two are the ones left raw
        wait_until_written(client)
        deadline = time.monotonic() + 20
        while True:
            with read(served.engine) as conn:
                if backlog(conn) <= 2:
                    break
            assert time.monotonic() < deadline, "the server never folded past its raw limit"
            time.sleep(0.05)
        stats = client.get("/v1/endpoints/churn/stats").json()["versions"]
        metrics = client.get("/metrics").text
    with read(served.engine) as conn:
        raw = conn.execute(sa.select(predictions.c.request_id).where(~predictions.c.folded))
        assert sorted(raw.scalars()) == sorted(served_ids[-2:])
    assert [row["requests"] for row in stats] == [5]  # three folded, two read raw
    assert "champion_events_folded_total 3.0" in metrics
    assert "champion_fold_backlog 2.0" in metrics


def _fold_workers() -> list[multiprocessing.process.BaseProcess]:
    return [p for p in multiprocessing.active_children() if p.name == "champion-fold"]


def _predict_and_wait_counted(client: TestClient, count: int, folded: int) -> None:
    # Until the server has counted ``folded`` rows: a pass's rows are counted when the
    # worker answers, after it committed them.
    for n in range(count):
        answer = client.post(
            "/v1/endpoints/churn/predict", json={"unit": f"u{n}", "instances": [ROW]}
        )
        answer.raise_for_status()
    wait_until_written(client)
    deadline = time.monotonic() + 30
    while f"champion_events_folded_total {folded}.0" not in client.get("/metrics").text:
        assert time.monotonic() < deadline, "the server never folded its predictions"
        time.sleep(0.05)


def test_the_fold_runs_in_a_worker_process_that_is_replaced_when_killed_and_ends_with_the_server(
    served: Services, settings: Settings
) -> None:
    # Folding holds the GIL for ~40 µs a request: in the serving process it would delay the
    # requests beside it, so the server's passes run in a worker of their own.
    quick = settings.model_copy(update={"fold_interval_seconds": 0.05, "fold_lag_seconds": 0})
    with local_client(create_app(quick)) as client:
        _predict_and_wait_counted(client, 3, folded=3)
        [first] = _fold_workers()
        assert first.pid != os.getpid()
        assert first.pid is not None
        os.kill(first.pid, signal.SIGKILL)
        first.join(10)
        _predict_and_wait_counted(client, 4, folded=7)
        [second] = _fold_workers()
        assert second.pid != first.pid
        stats = client.get("/v1/endpoints/churn/stats").json()["versions"]
    with read(served.engine) as conn:
        assert backlog(conn) == 0
    assert [row["requests"] for row in stats] == [7]
    assert not second.is_alive()
    assert _fold_workers() == []


def test_a_fold_worker_stopped_while_it_starts_ends_without_an_error(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A server stopped within a moment of its first pass (a short test, a quick restart)
    # stops the worker while the pass is still spawning it.
    log = EventLog()
    log.predict("champion", "u1")
    log.write(services.engine)  # something to fold: the pass starts a worker
    folder = RollupFolder(services.engine, services.clock, None, timedelta(0), worker=True)
    spawn = multiprocessing.get_context("spawn").Process
    start = spawn.start
    errors: list[BaseException] = []
    stopping: list[threading.Thread] = []

    def stop() -> None:
        try:
            folder.stop()
        except BaseException as error:
            errors.append(error)

    def start_after_a_stop(process: multiprocessing.process.BaseProcess) -> None:
        stopping.append(threading.Thread(target=stop))
        stopping[0].start()
        time.sleep(0.3)  # stop() has seen the worker not started yet
        start(process)

    monkeypatch.setattr(spawn, "start", start_after_a_stop)
    try:
        assert folder.tick() == 0
        stopping[0].join(30)
        assert errors == []
        assert _fold_workers() == []
        assert folder.tick() == 0  # stopped: no worker starts again
        assert _fold_workers() == []
    finally:
        folder.close()


def test_a_server_with_nothing_to_fold_starts_no_fold_worker(
    served: Services, settings: Settings
) -> None:
    quick = settings.model_copy(update={"fold_interval_seconds": 0.05, "fold_lag_seconds": 0})
    with local_client(create_app(quick)) as client:
        deadline = time.monotonic() + 1
        while time.monotonic() < deadline:  # twenty passes or so, each with nothing to do
            assert _fold_workers() == []
            time.sleep(0.05)
        assert "champion_events_folded_total 0.0" in client.get("/metrics").text
        _predict_and_wait_counted(client, 2, folded=2)
        assert len(_fold_workers()) == 1
    assert _fold_workers() == []
