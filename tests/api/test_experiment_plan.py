"""GET /v1/endpoints/{endpoint}/experiment/plan: units and days from the endpoint's history."""

from __future__ import annotations

import math
import time

from fastapi.testclient import TestClient
from scipy import stats

from champion.evaluation.planning import sample_size
from champion.services import Services
from tests.api.test_experiments import _canary, _second_version, _serve
from tests.conftest import ModelFolders


def test_a_plan_is_estimated_from_the_endpoints_history(
    served: Services, client: TestClient, model_folder: ModelFolders
) -> None:
    _second_version(served, model_folder)
    _canary(client, "churn@champion", "churn@challenger", 0.5)
    ids = _serve(client, 60)
    clicks = [{"request_id": i, "kind": "click"} for i in ids[::4]]
    assert client.post("/v1/feedback/batch", json={"events": clicks}).is_success
    path = "/v1/endpoints/churn/experiment/plan"

    response = client.get(path, params={"goal": "click_rate", "mde": 0.1, "method": "delta"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["baseline"] == 0.25 and body["challengers"] == 1
    assert body["sd"] == math.sqrt(0.25 * 0.75 * 60 / 59)
    assert body["goal_units_per_arm"] == math.ceil(
        sample_size(0.1, body["sd"], alpha=0.05, power=0.8)
    )
    # Two guardrails share the design's beta of 0.2: each is planned at power 0.9.
    assert [(g["metric"], g["power"]) for g in body["guardrails"]] == [
        ("error_rate", 0.9),
        ("latency_ms", 0.9),
    ]
    needed = [body["goal_units_per_arm"], *(g["units_per_arm"] for g in body["guardrails"])]
    assert body["units_per_arm"] == max(needed) and body["total_units"] == 2 * max(needed)
    assert body["history"]["units"] == 60 and body["days"] > 0
    assert body["interleaving"] is None  # not a ranker

    relative = client.get(path, params={"goal": "click_rate", "mde": 0.4, "relative": True})
    assert relative.status_code == 200 and relative.json()["mde"] == 0.1
    sequential = relative.json()
    assert sequential["goal_units_per_arm"] > sequential["fixed_horizon_units_per_arm"]


def test_a_plan_refuses_what_it_cannot_estimate(
    served: Services, client: TestClient, model_folder: ModelFolders
) -> None:
    _second_version(served, model_folder)
    _canary(client, "churn@champion", "churn@challenger", 0.5)
    path = "/v1/endpoints/churn/experiment/plan"
    empty = client.get(path, params={"goal": "click_rate", "mde": 0.1})
    assert empty.status_code == 422
    assert "has no click_rate history in the last 14 days" in empty.text
    _serve(client, 10)
    for params, message in [
        ({"goal": "click_rate", "mde": 0}, "mde"),
        ({"goal": "click_rate", "mde": "nan"}, "mde"),
        ({"goal": "accuracy", "mde": 0.1}, "must be an event metric"),
        ({"goal": "clicks", "mde": 0.1}, "unknown metric"),
        ({"goal": "click_rate", "mde": 0.1, "history_days": 0}, "history_days"),
    ]:
        response = client.get(path, params=params)
        assert response.status_code == 422 and message in response.text, (params, response.text)
    assert (
        client.get(
            "/v1/endpoints/nope/experiment/plan", params={"goal": "ctr", "mde": 1}
        ).status_code
        == 404
    )


def test_a_ranker_is_also_planned_for_interleaving(
    served: Services, client: TestClient, model_folder: ModelFolders
) -> None:
    other = model_folder("echo_ranker")
    (other / "items.txt").write_text("z y x a b c")
    served.registry.register(other, model="recs", actor="t", aliases_to_set=("challenger",))
    path = "/v1/endpoints/recs/experiment/plan"
    for n in range(3):
        client.post("/v1/endpoints/recs/rank", json={"unit": f"early-{n}", "k": 4})
    time.sleep(0.3)
    response = client.get(path, params={"goal": "click_rate", "mde": 0.1})
    assert response.status_code == 200, response.text
    before = response.json()
    assert before["interleaving"]["units"] is None
    assert "No interleaving ran on this endpoint" in before["interleaving"]["note"]
    params = {"champion": "recs@champion", "challenger": "recs@challenger"}
    client.put("/v1/endpoints/recs", json={"policy": "interleave", "params": params})
    answers = [
        client.post("/v1/endpoints/recs/rank", json={"unit": f"u{n}", "k": 4}).json()
        for n in range(30)
    ]
    time.sleep(0.3)
    clicks = [
        {"request_id": a["request_id"], "kind": "click", "item": a["items"][n % 2]["item"]}
        for n, a in enumerate(answers)
        if n % 3
    ]
    assert client.post("/v1/feedback/batch", json={"events": clicks}).is_success
    body = client.get(path, params={"goal": "interleaving", "mde": 0.1}).json()
    planned = body["interleaving"]
    assert planned["preference"] == 0.1 and planned["sd"] > 0
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    assert planned["units"] == math.ceil((z * planned["sd"] / 0.1) ** 2)
    assert body["goal_units_per_arm"] == planned["units"] and body["guardrails"] == []
