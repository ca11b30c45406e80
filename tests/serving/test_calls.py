"""Calling one version: a version that does not answer times out, counted, in threads of its own."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from champion.services import Services
from tests.conftest import ModelFolders
from tests.serving.gated import register_gated

ROW = {"tenure": 3, "charges": 12.5, "contract": "Month-to-month"}
TIMEOUTS = (
    'champion_version_failures_total{endpoint="held",model="held",reason="timeout",version="1"}'
)


def test_a_version_that_does_not_answer_times_out_and_holds_only_its_own_threads(
    served: Services, client: TestClient, model_folder: ModelFolders, tmp_path: Path
) -> None:
    gate = tmp_path / "gate-open"
    register_gated(served, model_folder, gate, "held", "champion")
    response = client.put(
        "/v1/endpoints/held",
        json={
            "policy": "single",
            "params": {"version": "held@champion", "timeout_ms": 200},
            "reason": "a version that holds its calls",
        },
    )
    assert response.status_code == 200, response.text
    try:
        # Each timed-out call still holds one of the version's four threads.
        for _ in range(4):
            response = client.post(
                "/v1/endpoints/held/predict", json={"unit": "u", "instances": [ROW]}
            )
            assert response.status_code == 500
            assert response.json()["error"] == {
                "code": "ModelFailed",
                "message": "Version held/1 did not answer within 0.2 s.",
            }
        assert f"{TIMEOUTS} 4.0" in client.get("/metrics").text
        # Another version's calls run in threads of their own: it answers at once.
        response = client.post(
            "/v1/endpoints/churn/predict", json={"unit": "u", "instances": [ROW]}
        )
        assert response.status_code == 200, response.text
        assert response.json()["predictions"] == [{"score": 0.25}]
    finally:
        gate.touch()  # lets the held threads finish
