"""A retraining pipeline deploys into one stage of a pipeline endpoint, over HTTP."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from champion.services import Services
from tests.automation.trainers import customers, spec, write_batch
from tests.conftest import ModelFolders

ROW = {"tenure": 3, "charges": 70.5, "plan": "monthly"}
# The retrained model scores the stage 'score'; the stage 'risk' before it stays.
STAGES = {
    "stages": [
        {
            "name": "risk",
            "model": "risk@champion",
            "inputs": {
                "tenure": "request.tenure",
                "charges": "request.charges",
                "contract": "request.plan",
            },
        },
        {"name": "score", "model": "churn@champion"},
    ]
}
DESIGN = {"goal": "accuracy", "guardrails": [], "min_sample": 50, "automation": "manual"}


def _run(client: TestClient) -> dict[str, Any]:
    started = client.post("/v1/pipelines/churn-retrain/runs", json={"reason": "new week"})
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run: dict[str, Any] = client.get(
            f"/v1/pipelines/churn-retrain/runs/{started.json()['id']}"
        ).json()
        if run["status"] in {"succeeded", "failed"}:
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {started.json()['id']} did not finish")


def _apply(client: TestClient, incoming: Path, deploy: dict[str, Any]) -> tuple[int, str]:
    body = spec(incoming).to_json() | {"deploy": deploy}
    response = client.put("/v1/pipelines/churn-retrain", json={"spec": body})
    return response.status_code, response.json().get("error", {}).get("message", "")


def _pipeline_endpoint(
    client: TestClient, services: Services, model_folder: ModelFolders, incoming: Path
) -> None:
    """churn/1 from a first run (deployed alone on 'churn'), then 'scored': risk, then churn."""
    assert _apply(client, incoming, {"endpoint": "churn", "policy": "single"})[0] == 200
    write_batch(incoming, "week-1.csv", customers(150, seed=1))
    assert _run(client)["status"] == "succeeded"
    services.registry.register(
        model_folder("risk"), model="risk", actor="tests", aliases_to_set=("champion",)
    )
    response = client.put("/v1/endpoints/scored", json={"policy": "stages", "params": STAGES})
    assert response.status_code == 200, response.text


def test_a_retrained_version_goes_out_on_its_stage_only(
    client: TestClient, services: Services, model_folder: ModelFolders, tmp_path: Path
) -> None:
    incoming = tmp_path / "incoming"
    _pipeline_endpoint(client, services, model_folder, incoming)
    deploy = {
        "endpoint": "scored",
        "stage": "score",
        "policy": "canary",
        "share": 0.5,
        "experiment": DESIGN,
    }
    applied = _apply(client, incoming, deploy)
    assert applied == (200, ""), applied
    audited = client.get("/v1/audit", params={"action": "pipeline.apply", "limit": 1}).json()
    assert audited["records"][0]["details"]["stage"] == "score"
    write_batch(incoming, "week-2.csv", customers(150, seed=2))

    run = _run(client)

    assert run["status"] == "succeeded", run["error"]
    deployed = next(s for s in run["steps"] if s["step"] == "deploy")["outputs"]
    assert (deployed["endpoint"], deployed["stage"], deployed["policy"]) == (
        "scored",
        "score",
        "canary",
    )
    described = client.get("/v1/endpoints/scored").json()
    risk, score = described["params"]["stages"]
    assert risk == STAGES["stages"][0]  # the other stage stays as it was
    assert score == {
        "name": "score",
        "policy": "canary",
        "params": {"champion": "churn@champion", "challenger": "churn/2", "share": 0.5},
    }
    assert [(s["stage"], s["policy"], s["serving"], s["live"]) for s in described["stages"]] == [
        ("risk", "single", ["risk/1"], "risk/1"),
        ("score", "canary", ["churn/1", "churn/2"], "churn/1"),
    ]
    experiment = client.get("/v1/endpoints/scored/experiment").json()
    assert (experiment["stage"], experiment["policy"], experiment["share"]) == (
        "score",
        "canary",
        0.5,
    )
    assert experiment["versions"] == {"champion": "churn/1", "challenger": "churn/2"}
    answers = [
        client.post(
            "/v1/endpoints/scored/predict", json={"unit": f"u{n}", "instances": [ROW]}
        ).json()
        for n in range(40)
    ]
    versions = {tuple(s["version"] for s in a["stages"]) for a in answers}
    assert versions == {(1, 1), (1, 2)}  # risk/1 always; churn/1 or churn/2 by unit
    assert client.get("/v1/endpoints/churn").json()["params"] == {"version": "churn@champion"}


def test_a_deploy_that_does_not_fit_the_endpoint_is_refused_when_applied(
    client: TestClient, services: Services, model_folder: ModelFolders, tmp_path: Path
) -> None:
    incoming = tmp_path / "incoming"
    _pipeline_endpoint(client, services, model_folder, incoming)
    status, message = _apply(client, incoming, {"endpoint": "scored", "stage": "rerank"})
    assert status == 404
    assert message == (
        "deploy.stage: endpoint 'scored' has no stage 'rerank'. Stages: risk, score."
    )
    status, message = _apply(client, incoming, {"endpoint": "scored", "stage": "risk"})
    assert status == 422 and "stage 'risk' of endpoint 'scored' serves model 'risk'" in message
    assert "not 'churn'" in message
    status, message = _apply(client, incoming, {"endpoint": "scored"})
    assert status == 409
    assert "pipeline endpoint (stages risk, score): name the stage" in message
    status, message = _apply(client, incoming, {"endpoint": "churn", "stage": "score"})
    assert status == 422 and "endpoint 'churn' has no stages" in message
    status, message = _apply(client, incoming, {"endpoint": "scored", "stage": "a b"})
    assert status == 422 and "deploy.stage" in message
    # What was applied before stands.
    applied = client.get("/v1/pipelines/churn-retrain").json()
    assert applied["revision"] == 1 and applied["spec"]["deploy"]["endpoint"] == "churn"


def test_a_stage_gone_by_the_run_fails_the_deploy_and_changes_nothing(
    client: TestClient, services: Services, model_folder: ModelFolders, tmp_path: Path
) -> None:
    incoming = tmp_path / "incoming"
    _pipeline_endpoint(client, services, model_folder, incoming)
    assert _apply(client, incoming, {"endpoint": "scored", "stage": "score"})[0] == 200
    renamed = {"stages": [STAGES["stages"][0], {"name": "churn", "model": "churn@champion"}]}
    response = client.put("/v1/endpoints/scored", json={"policy": "stages", "params": renamed})
    assert response.status_code == 200, response.text
    write_batch(incoming, "week-2.csv", customers(150, seed=2))

    run = _run(client)

    assert run["status"] == "failed"
    assert "endpoint 'scored' has no stage 'score'. Stages: risk, churn." in run["error"]
    assert client.get("/v1/endpoints/scored").json()["params"] == renamed
