"""Adaptive batching: concurrent predictions share a model call, each answered and logged as
if alone; a bad row fails only its own request; the settings are checked."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from champion.events.tables import predictions
from champion.services import Services
from tests.conftest import LiveServer, ModelFolders

HEADERS = {"X-Champion-Request": "1"}
BATCHING = {"max_batch_size": 8, "max_batch_wait_ms": 50.0}


def _row(tenure: int) -> dict[str, Any]:
    return {"tenure": tenure, "charges": 10.0 + tenure, "contract": "Month-to-month"}


@pytest.fixture
def scorer(services: Services, model_folder: ModelFolders) -> Services:
    """The scorer (its answer depends on each row) behind 'batched' (batching on) and
    'alone' (off)."""
    services.registry.register(
        model_folder("scorer"), model="churn", actor="t", aliases_to_set=("champion",)
    )
    params = {"version": "churn@champion"}
    services.endpoints.set("batched", "single", params, actor="t", batching=BATCHING)
    services.endpoints.set("alone", "single", params, actor="t")
    return services


def _post(url: str, endpoint: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/endpoints/{endpoint}/predict", json=body, headers=HEADERS, timeout=30
    )


def _concurrently(url: str, endpoint: str, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(lambda body: _post(url, endpoint, body), bodies))


def _metric(text: str, name: str, endpoint: str) -> float:
    found = re.search(rf'^{name}{{endpoint="{endpoint}".*}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


@pytest.mark.slow(seconds=5)
def test_concurrent_requests_share_model_calls_and_each_gets_its_own_answer_and_event(
    scorer: Services, live_server: LiveServer
) -> None:
    # Requests of one to three rows, so rows are split back by each request's count.
    bodies = [
        {"unit": f"u{n}", "instances": [_row(n + i) for i in range(1 + n % 3)]} for n in range(24)
    ]
    batched = _concurrently(live_server.url, "batched", bodies)
    alone = [_post(live_server.url, "alone", body) for body in bodies]
    assert [r.status_code for r in batched] == [200] * len(bodies)
    assert [r.json()["predictions"] for r in batched] == [r.json()["predictions"] for r in alone]

    metrics = httpx.get(f"{live_server.url}/metrics", timeout=10).text
    calls = _metric(metrics, "champion_batched_calls_total", "batched")
    rows = _metric(metrics, "champion_batched_rows_total", "batched")
    assert rows == sum(len(body["instances"]) for body in bodies)
    assert 0 < calls < len(bodies), "no two requests shared a model call"
    assert _metric(metrics, "champion_batched_calls_total", "alone") == 0

    # One event per request, with that request's own inputs and outputs.
    ids = {
        r.json()["request_id"]: (body, r.json()) for r, body in zip(batched, bodies, strict=True)
    }
    query = sa.select(predictions).where(predictions.c.endpoint == "batched")
    deadline = time.monotonic() + 20
    while True:
        with scorer.engine.connect() as conn:
            events = {row.request_id: row for row in conn.execute(query)}
        if len(events) >= len(ids) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert events.keys() == ids.keys()
    for request_id, (body, answer) in ids.items():
        assert events[request_id].inputs == body["instances"]
        assert events[request_id].outputs == answer["predictions"]
        assert events[request_id].unit == body["unit"]


@pytest.mark.slow(seconds=5)
def test_a_bad_row_is_refused_with_its_own_request_and_the_batch_is_answered(
    scorer: Services, live_server: LiveServer
) -> None:
    bodies = [{"instances": [_row(n)]} for n in range(7)]
    bodies.insert(3, {"instances": [{"tenure": "three", "charges": 1.0, "contract": "x"}]})
    answers = _concurrently(live_server.url, "batched", bodies)
    assert [r.status_code for r in answers] == [200] * 3 + [422] + [200] * 4
    assert "instances[0].tenure" in answers[3].json()["error"]["message"]


def test_batching_settings_are_shown_kept_turned_off_and_checked(
    scorer: Services, client: TestClient
) -> None:
    assert client.get("/v1/endpoints/batched").json()["batching"] == BATCHING
    assert client.get("/v1/endpoints/alone").json()["batching"] is None
    body = {"policy": "single", "params": {"version": "churn@champion"}}
    # A change that does not name batching keeps it (as a ramp does).
    assert client.put("/v1/endpoints/batched", json=body).json()["batching"] == BATCHING
    assert (
        client.put("/v1/endpoints/batched", json=body | {"batching": None}).json()["batching"]
        is None
    )
    on = {"max_batch_size": 4, "max_batch_wait_ms": 0}
    assert client.put("/v1/endpoints/alone", json=body | {"batching": on}).json()["batching"] == {
        "max_batch_size": 4,
        "max_batch_wait_ms": 0.0,
    }
    for bad, field in [
        ({"max_batch_size": 0, "max_batch_wait_ms": 2}, "batching.max_batch_size"),
        ({"max_batch_size": 8.5, "max_batch_wait_ms": 2}, "batching.max_batch_size"),
        ({"max_batch_size": 8, "max_batch_wait_ms": 5000}, "batching.max_batch_wait_ms"),
        ({"max_batch_size": 8}, "batching.max_batch_wait_ms"),
        ({"max_batch_size": 8, "max_batch_wait_ms": 2, "rows": 3}, "batching.rows"),
    ]:
        answer = client.put("/v1/endpoints/alone", json=body | {"batching": bad})
        assert answer.status_code == 422, (bad, answer.text)
        assert field in answer.json()["error"]["message"], (bad, answer.text)
    assert client.get("/v1/endpoints/alone").json()["batching"] == on | {"max_batch_wait_ms": 0.0}
