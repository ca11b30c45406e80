"""Shadow calls off the response path: a shadow that cannot keep up is skipped, never queued."""

from __future__ import annotations

import time
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient

from champion.events.tables import shadow_predictions
from champion.services import Services
from tests.conftest import ModelFolders
from tests.serving.gated import register_gated

ROW = {"tenure": 3, "charges": 12.5, "contract": "Month-to-month"}
SKIPPED = 'champion_shadows_skipped_total{endpoint="churn",model="churn",version="2"}'


def _shadow_rows(services: Services, count: int) -> list[tuple[int, object, object]]:
    deadline = time.monotonic() + 10
    while True:
        with services.engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    shadow_predictions.c.version,
                    shadow_predictions.c.outputs,
                    shadow_predictions.c.error,
                )
            ).all()
        if len(rows) >= count or time.monotonic() > deadline:
            return [tuple(row) for row in rows]
        time.sleep(0.02)


def test_a_shadow_past_its_calls_in_flight_is_skipped_and_counted_until_one_ends(
    served: Services, client: TestClient, model_folder: ModelFolders, tmp_path: Path
) -> None:
    gate = tmp_path / "gate-open"
    register_gated(served, model_folder, gate, "churn", "challenger")
    response = client.put(
        "/v1/endpoints/churn",
        json={
            "policy": "shadow",
            "params": {"champion": "churn@champion", "challenger": "churn@challenger"},
            "reason": "shadow a version that holds its calls",
        },
    )
    assert response.status_code == 200, response.text

    def predict() -> str:
        response = client.post(
            "/v1/endpoints/churn/predict", json={"unit": "u", "instances": [ROW]}
        )
        assert response.json()["predictions"] == [{"score": 0.25}]  # the champion's, at once
        return str(response.json()["request_id"])

    for _ in range(6):
        predict()
    # Four shadow calls hold the challenger; the fifth and sixth are skipped, not queued.
    assert f"{SKIPPED} 2.0" in client.get("/metrics").text
    gate.touch()
    assert _shadow_rows(served, 4) == [(2, [{"score": 0.5}], None)] * 4

    # The finished calls gave their places back: the next request's shadow runs.
    predict()
    assert len(_shadow_rows(served, 5)) == 5
    assert f"{SKIPPED} 2.0" in client.get("/metrics").text
