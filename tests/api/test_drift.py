from __future__ import annotations

import io
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from champion.drift.comparison import compare_table
from champion.drift.live import prediction_chunks
from champion.registry import VersionKey
from champion.services import Services
from tests.conftest import ModelFolders, wait_until_written
from tests.drift.traffic import customers, register_scorer, serve


@pytest.fixture
def scored(services: Services, model_folder: ModelFolders, client: TestClient) -> TestClient:
    register_scorer(services, model_folder, customers(3000, seed=1))
    return client


def test_served_traffic_like_the_reference_does_not_drift(scored: TestClient) -> None:
    serve(scored, customers(600, seed=2))
    body = scored.get("/v1/endpoints/churn/drift", params={"window": "1h"}).json()
    assert body["version"] == "churn/1" and body["rows"] == 600
    assert body["drifted_columns"] == [] and body["share_drifted"] == 0.0
    columns = {c["column"]: c for c in body["columns"]}
    assert set(columns) == {
        "tenure", "charges", "contract",
        "output.label", "output.probabilities.0", "output.probabilities.1",
    }  # fmt: skip
    assert columns["tenure"]["method"] == "ks" and columns["contract"]["method"] == "chi2"
    assert columns["output.label"]["role"] == "output" and columns["tenure"]["role"] == "input"
    for column in columns.values():
        assert {"statistic", "p_value", "threshold", "verdict"} <= set(column)
    assert body["quality"]["rows"] == 600


def test_newer_customers_drift_in_inputs_and_outputs(scored: TestClient) -> None:
    serve(scored, customers(600, seed=3, shift=1.0))
    body = scored.get("/v1/endpoints/churn/drift", params={"window": "1h"}).json()
    assert {"tenure", "charges", "contract", "output.probabilities.1"} <= set(
        body["drifted_columns"]
    )
    assert body["share_drifted"] >= 4 / 6
    severities = [c["severity"] for c in body["columns"] if c["drifted"]]
    assert severities == sorted(severities, reverse=True)
    chosen = scored.get(
        "/v1/endpoints/churn/drift", params={"window": "1h", "test": "charges=psi"}
    ).json()
    assert {c["column"]: c["method"] for c in chosen["columns"]}["charges"] == "psi"
    metrics = scored.get("/metrics").text
    assert 'champion_drift_drifted_columns_ratio{endpoint="churn"}' in metrics
    assert 'champion_drift_statistic{column="tenure",endpoint="churn",method="ks"}' in metrics


def test_windows_stream_in_chunks_with_the_same_result(
    scored: TestClient, services: Services
) -> None:
    serve(scored, customers(400, seed=4, shift=0.5), batch=10)
    reference = services.references.get(VersionKey("churn", 1)).profile
    now = services.clock.now()
    start, end = now - timedelta(hours=1), now + timedelta(seconds=1)
    chunks = list(prediction_chunks(services.engine, "churn", start, end, chunk_events=7))
    assert len(chunks) == 6 and sum(len(c) for c in chunks) == 400
    whole = list(prediction_chunks(services.engine, "churn", start, end))
    assert len(whole) == 1
    assert compare_table(reference, iter(chunks)) == compare_table(reference, whole[0])


def test_bad_windows_and_empty_ones_are_clear(scored: TestClient) -> None:
    response = scored.get("/v1/endpoints/churn/drift", params={"window": "soon"})
    assert response.status_code == 422 and "'window'" in response.json()["error"]["message"]
    response = scored.get("/v1/endpoints/churn/drift", params={"window": "1h"})
    assert response.status_code == 404 and "served no prediction" in response.text
    assert scored.get("/v1/endpoints/nope/drift").status_code == 404
    response = scored.get("/v1/endpoints/churn/drift", params={"test": "tenure"})
    assert response.status_code == 422 and "column=detector" in response.text


def test_performance_from_labels_and_the_error_stream(scored: TestClient) -> None:
    frame = customers(400, seed=5)
    ids = serve(scored, frame, batch=1)
    # True outcomes: churn when tenure <= 24 for the first half, then the world flips.
    events = [
        {"request_id": rid, "kind": "label", "label": int((t <= 24) == (i < 200))}
        for i, (rid, t) in enumerate(zip(ids, frame["tenure"], strict=True))
    ]
    assert scored.post("/v1/feedback/batch", json={"events": events}).status_code == 201
    body = scored.get(
        "/v1/endpoints/churn/performance", params={"window": "1h", "bucket": "1h"}
    ).json()
    assert body["labelled"] == 400 and body["kind"] == "classifier"
    assert body["overall"]["error_rate"] == 0.5
    drifts = [d for d in body["detections"] if d["kind"] == "drift"]
    assert drifts and all(d["index"] >= 200 for d in drifts)
    assert {d["detector"] for d in body["detections"]} <= {"ddm", "adwin"}


def test_reference_upload_and_read(
    services: Services, model_folder: ModelFolders, client: TestClient
) -> None:
    services.registry.register(model_folder("scorer"), model="churn", actor="tests")
    data = customers(300, seed=6).to_csv(index=False).encode()
    response = client.put(
        "/v1/models/churn/versions/1/reference",
        files={"file": ("train.csv", io.BytesIO(data), "text/csv")},
    )
    assert response.status_code == 200, response.text
    assert response.json()["rows"] == 300
    again = client.put(
        "/v1/models/churn/versions/1/reference",
        files={"file": ("train.csv", io.BytesIO(data), "text/csv")},
    )
    assert again.status_code == 409
    shown = client.get("/v1/models/churn/versions/1/reference").json()
    assert shown["outputs"] == ["output.label", "output.probabilities.0", "output.probabilities.1"]
    bad = client.put(
        "/v1/models/churn/versions/1/reference",
        files={"file": ("train.xlsx", io.BytesIO(b"x"), "application/octet-stream")},
    )
    assert bad.status_code == 422 and "name it .csv, .jsonl, .parquet or .pq" in bad.text


def test_a_ranker_endpoint_says_rankers_have_no_reference(
    served: Services, client: TestClient
) -> None:
    for unit in ("u1", "u2", "u3"):
        assert client.post("/v1/endpoints/recs/rank", json={"unit": unit, "k": 3}).is_success
    wait_until_written(client)
    timeline = client.get("/v1/endpoints/recs/drift/timeline", params={"window": "1h"}).json()
    assert (timeline["version"], timeline["columns"]) == ("recs/1", [])
    assert "recs/1 is a ranker: rankers have no reference profile" in timeline["message"]
    assert "served no prediction" not in timeline["message"]
    drift = client.get("/v1/endpoints/recs/drift", params={"window": "1h"})
    assert drift.status_code == 404 and "is a ranker" in drift.json()["error"]["message"]
    assert client.get("/v1/endpoints/recs").json()["kind"] == "ranker"
