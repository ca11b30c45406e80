"""GET /v1/endpoints/{e}/stats?buckets=N: a chart's consecutive windows in one request."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from champion.services import Services
from tests.conftest import wait_until_written

ROW = {"tenure": 3, "charges": 12.5, "contract": "Month-to-month"}


def test_buckets_cut_the_window_and_each_equals_its_own_stats(
    served: Services, client: TestClient
) -> None:
    for i in range(7):
        unit = f"u{i}"
        assert client.post(
            "/v1/endpoints/churn/predict", json={"unit": unit, "instances": [ROW]}
        ).is_success
    wait_until_written(client)
    end = datetime.now(UTC) + timedelta(seconds=1)
    start = end - timedelta(minutes=10)
    params = {"start": start.isoformat(), "end": end.isoformat()}
    body = client.get("/v1/endpoints/churn/stats", params={**params, "buckets": 20}).json()
    assert [v["requests"] for v in body["versions"]] == [7]  # the whole window, as before
    windows = body["buckets"]
    assert len(windows) == 20
    assert windows[0]["start"] == start.isoformat() and windows[-1]["end"] == end.isoformat()
    assert all(a["end"] == b["start"] for a, b in itertools.pairwise(windows))
    assert sum(v["requests"] for w in windows for v in w["versions"]) == 7
    for window in windows:
        alone = client.get(
            "/v1/endpoints/churn/stats", params={"start": window["start"], "end": window["end"]}
        ).json()
        assert window["versions"] == alone["versions"]
    assert client.get("/v1/endpoints/churn/stats", params=params).json()["buckets"] is None


def test_bad_buckets_are_4xx_naming_the_field(served: Services, client: TestClient) -> None:
    now = datetime.now(UTC).isoformat()
    for buckets in (0, 61):
        response = client.get(
            "/v1/endpoints/churn/stats", params={"start": now, "buckets": buckets}
        )
        assert response.status_code == 422 and "buckets" in response.text
    response = client.get("/v1/endpoints/churn/stats", params={"buckets": 3})
    assert response.status_code == 422
    assert "The 'buckets' parameter needs 'start'" in response.json()["error"]["message"]
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    response = client.get(
        "/v1/endpoints/churn/stats", params={"start": later, "end": now, "buckets": 3}
    )
    assert response.status_code == 422 and "'start' must be before 'end'" in response.text
