from __future__ import annotations

from fastapi.testclient import TestClient

from champion.services import Services
from tests.conftest import wait_until_written


def _rank(client: TestClient, unit: str) -> str:
    response = client.post("/v1/endpoints/recs/rank", json={"unit": unit, "k": 4})
    request_id: str = response.json()["request_id"]
    return request_id


def test_feedback_with_the_same_event_id_is_stored_once(
    served: Services, client: TestClient
) -> None:
    request_id = _rank(client, "u1")
    event = {"event_id": "e-1", "request_id": request_id, "kind": "click", "item": "b"}
    first = client.post("/v1/feedback", json=event).json()
    again = client.post("/v1/feedback", json=event).json()
    assert (first["accepted"], first["duplicates"]) == (1, 0)
    assert (again["accepted"], again["duplicates"]) == (0, 1)


def test_clicks_join_the_items_they_credit(served: Services, client: TestClient) -> None:
    events: list[dict[str, object]] = []
    for n in range(10):
        request_id = _rank(client, f"user-{n}")
        events.append({"request_id": request_id, "kind": "click", "item": "a"})
        if n % 2 == 0:
            events.append({"request_id": request_id, "kind": "purchase", "item": "a", "value": 9.5})
    response = client.post("/v1/feedback/batch", json={"events": events})
    assert response.status_code == 201 and response.json()["accepted"] == 15
    wait_until_written(client)
    stats = client.get("/v1/endpoints/recs/stats").json()["versions"]
    assert len(stats) == 1
    row = stats[0]
    assert (row["requests"], row["units"], row["impressions"]) == (10, 10, 40)
    assert (row["clicked_impressions"], row["clicks"], row["purchases"]) == (10, 10, 5)
    assert row["ctr"] == 0.25 and row["value"] == 47.5 and row["feedback_coverage"] == 1.0
    assert row["latency_p50_ms"] <= row["latency_p99_ms"]


def test_bad_feedback_names_the_field(served: Services, client: TestClient) -> None:
    response = client.post("/v1/feedback", json={"request_id": "r", "kind": "Click!"})
    assert response.status_code == 422 and "kind" in response.json()["error"]["message"]
    response = client.post("/v1/feedback", json={"kind": "click"})
    assert response.status_code == 422
    assert "request_id: Field required" in response.json()["error"]["message"]
