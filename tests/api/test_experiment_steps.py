"""Over HTTP: a canary's ramp steps are listed in its experiment, and an A/A canary whose
click rate jumps at the ramp is not promoted."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import sqlalchemy as sa
from fastapi.testclient import TestClient

from champion.db import read
from champion.evaluation.online import arm_metrics
from champion.evaluation.stattests import SequentialTest
from champion.events.arms import ArmWindow
from champion.events.tables import feedback, predictions
from champion.services import Services
from tests.conftest import ModelFolders

ROW = {"tenure": 3, "charges": 12.5, "contract": "Month-to-month"}
TUNING = 400.0
DESIGN: dict[str, Any] = {
    "goal": "click_rate",
    "automation": "manual",
    "min_sample": 50,
    "sequential_tuning": TUNING,
    "ramp": {"steps": [0.05, 0.5, 1.0]},
}


def _share(client: TestClient, share: float) -> None:
    params = {"champion": "churn@champion", "challenger": "churn@challenger", "share": share}
    response = client.put("/v1/endpoints/churn", json={"policy": "canary", "params": params})
    assert response.status_code == 200, response.text


def _visit(client: TestClient, units: range, click_rate: float, rng: np.random.Generator) -> None:
    """Each unit visits once and clicks with ``click_rate`` whatever its arm (A/A)."""
    events = []
    for n in units:
        body = {"unit": f"user-{n}", "instances": [ROW]}
        response = client.post("/v1/endpoints/churn/predict", json=body)
        assert response.status_code == 200, response.text
        if rng.random() < click_rate:
            events.append({"request_id": response.json()["request_id"], "kind": "click"})
    assert client.post("/v1/feedback/batch", json={"events": events}).is_success


def _logged(services: Services, requests: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with read(services.engine) as conn:
            if conn.execute(sa.select(sa.func.count()).select_from(predictions)).scalar() == (
                requests
            ):
                return
        time.sleep(0.02)
    raise AssertionError(f"{requests} predictions were not logged in time")


def _pooled_p(services: Services, since_config: int) -> float:
    """The sequential p-value of a challenger win with every step pooled (the old way)."""
    window = ArmWindow("churn", ("champion", "challenger"), since_config)
    with read(services.engine) as conn:
        arms = arm_metrics(conn, window, {}, sources=("events",))
        clicks = conn.execute(sa.select(sa.func.count()).select_from(feedback)).scalar()
    assert clicks
    a, b = arms["champion"].metrics["click_rate"], arms["challenger"].metrics["click_rate"]
    result = SequentialTest(TUNING).run(a, b, alpha=0.05)
    assert result.effect > 0
    return result.p_value


def test_an_aa_canary_with_a_trend_across_two_steps_is_not_promoted(
    served: Services, client: TestClient, model_folder: ModelFolders
) -> None:
    # The same model twice: whatever the numbers say, there is no effect.
    served.registry.register(
        model_folder("constant"), model="churn", actor="t", aliases_to_set=("challenger",)
    )
    rng = np.random.default_rng(7)
    _share(client, 0.05)
    started = client.put("/v1/endpoints/churn/experiment", json=DESIGN)
    assert started.status_code == 200, started.text
    first_config = client.get("/v1/endpoints/churn").json()["config_version"]
    _visit(client, range(400), 0.10, rng)
    _logged(served, 400)
    _share(client, 0.5)  # a ramp by hand; the click rate jumps at the same time
    _visit(client, range(400), 0.50, rng)  # every user comes back
    _logged(served, 800)
    assert _pooled_p(served, first_config) < 0.05  # pooled steps: a "significant win"

    report: dict[str, Any] = client.get("/v1/endpoints/churn/experiment").json()
    assert report["decision"]["decision"] != "promote", report["decision"]["reason"]
    first, second = report["steps"]
    assert (first["step"], first["share"], second["step"], second["share"]) == (1, 0.05, 2, 0.5)
    assert first["config_versions"] == [first_config, first_config]
    assert second["config_versions"] == [first_config + 1, first_config + 1]
    assert sum(first["units"].values()) == 400 and sum(second["units"].values()) == 400
    assert first["srm"]["status"] == "ok" and second["srm"]["status"] == "ok"
    assert second["srm"]["numbers"]["expected_shares"] == {"champion": 0.5, "challenger": 0.5}
    assert report["regime"]["step"] == 2 and report["regime"]["last_before_full"] is True
    # The numbers are the last step's: each user once, in the arm it has now.
    assert sum(arm["units"] for arm in report["arms"]) == 400
    goal = next(r for r in report["results"] if r["role"] == "goal")
    assert goal["ci"][0] < 0 < goal["ci"][1]
    timeline = client.get("/v1/endpoints/churn/experiment/timeline", params={"points": 2})
    assert timeline.status_code == 200, timeline.text
    assert timeline.json()["points"][-1]["step"] == 2
