from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.automation.trainers import customers, spec, write_batch

HEADERS = {"X-Champion-Actor": "carol"}


def _wait(client: TestClient, run_id: int, statuses: set[str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(f"/v1/pipelines/churn-retrain/runs/{run_id}").json()
        if body["status"] in statuses:
            return body
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} is still {body['status']}")


def test_runs_over_http_with_approval(client: TestClient, tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    bad = customers(100, seed=1).astype(object)
    bad.loc[3, "tenure"] = "three"
    write_batch(incoming, "initial.csv", bad)
    body = spec(incoming, automation="approve").to_json()
    body.pop("name")
    put = client.put("/v1/pipelines/churn-retrain", json={"spec": body}, headers=HEADERS)
    assert put.status_code == 200 and put.json()["revision"] == 1

    started = client.post(
        "/v1/pipelines/churn-retrain/runs", json={"reason": "try it"}, headers=HEADERS
    )
    assert started.status_code == 202 and started.json()["status"] == "queued"
    run_id = started.json()["id"]
    waiting = _wait(client, run_id, {"awaiting_approval", "failed"})
    assert waiting["status"] == "awaiting_approval", waiting["error"]
    assert [s["step"] for s in waiting["steps"]] == ["ingest", "validate", "train", "score", "gate"]

    approved = client.post(
        f"/v1/pipelines/churn-retrain/runs/{run_id}/approve", json={"reason": "looks right"},
        headers=HEADERS,
    )  # fmt: skip
    assert approved.status_code == 202 and approved.json()["approved_by"] == "carol"
    done = _wait(client, run_id, {"succeeded", "failed"})
    assert done["status"] == "succeeded" and done["version"] == 1
    again = client.post(f"/v1/pipelines/churn-retrain/runs/{run_id}/approve", json={})
    assert again.status_code == 409 and "is succeeded" in again.json()["error"]["message"]

    files = client.get("/v1/sources/customers/files").json()["files"]
    assert [(f["status"], f["quarantined_rows"]) for f in files] == [("partial", 1)]
    rows = client.get(f"/v1/sources/customers/files/{files[0]['id']}/quarantine").json()["rows"]
    assert rows == [
        {"row": 3, "values": {**rows[0]["values"], "tenure": "three"},
         "reasons": ["tenure: 'three' is not an integer"]}
    ]  # fmt: skip
    listed = client.get("/v1/pipelines").json()["pipelines"]
    assert [p["name"] for p in listed] == ["churn-retrain"]
    assert client.get("/v1/pipelines/churn-retrain").json()["runs"][0]["id"] == run_id
    assert client.get("/v1/endpoints/churn").json()["params"] == {"version": "churn@champion"}


def test_bad_pipelines_and_runs_are_refused_with_the_field(
    client: TestClient, tmp_path: Path
) -> None:
    body = spec(tmp_path).to_json()
    body["holdout"] = {"share": 1.5}
    bad = client.put("/v1/pipelines/churn-retrain", json={"spec": body})
    assert bad.status_code == 422
    assert "holdout.share: Input should be less than 1" in bad.json()["error"]["message"]
    body = {**spec(tmp_path).to_json(), "target": "nothing"}
    wrong = client.put("/v1/pipelines/churn-retrain", json={"spec": body})
    assert wrong.status_code == 422 and "target 'nothing' is not a column" in wrong.text
    missing = client.post("/v1/pipelines/nope/runs", json={})
    assert missing.status_code == 404 and "Unknown pipeline 'nope'" in missing.text
    client.put("/v1/pipelines/churn-retrain", json={"spec": spec(tmp_path).to_json()})
    trigger = client.post("/v1/pipelines/churn-retrain/runs", json={"trigger": "moon"})
    assert trigger.status_code == 422 and "Unknown trigger 'moon'" in trigger.text
    other = client.get("/v1/pipelines/churn-retrain/runs/999")
    assert other.status_code == 404
