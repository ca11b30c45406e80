"""Pipeline endpoints through HTTP: chained stages, per-stage rollouts, stage records."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from champion.services import Services
from tests.conftest import ModelFolders, wait_until_written

ROW = {"tenure": 3, "charges": 12.5, "contract": "Month-to-month"}
RISK_THEN_OFFER: dict[str, list[dict[str, Any]]] = {
    "stages": [
        {"name": "risk", "model": "risk@champion"},
        {
            "name": "offer",
            "model": "offer@champion",
            "inputs": {"risk": "risk.risk", "contract": "request.contract"},
        },
    ]
}


def _register(services: Services, folder: Any, model: str, alias: str = "champion") -> None:
    services.registry.register(folder, model=model, actor="tests", aliases_to_set=(alias,))


def _risk_challenger(services: Services, model_folder: ModelFolders, centre: int) -> None:
    folder = model_folder("risk")
    (folder / "centre.txt").write_text(str(centre))
    _register(services, folder, "risk", alias="challenger")


def _predict_units(client: TestClient, units: int) -> list[dict[str, Any]]:
    """One request of ROW from each of the units u0, u1, ...; the answers."""
    return [
        client.post(
            "/v1/endpoints/churn/predict", json={"unit": f"u{n}", "instances": [ROW]}
        ).json()
        for n in range(units)
    ]


@pytest.fixture
def chained(services: Services, model_folder: ModelFolders, client: TestClient) -> TestClient:
    _register(services, model_folder("risk"), "risk")
    _register(services, model_folder("offer"), "offer")
    response = client.put(
        "/v1/endpoints/churn", json={"policy": "stages", "params": RISK_THEN_OFFER}
    )
    assert response.status_code == 200, response.text
    return client


def test_one_request_runs_the_chain_and_names_each_stage_version(chained: TestClient) -> None:
    long_tenure = ROW | {"tenure": 60}
    body = chained.post(
        "/v1/endpoints/churn/predict", json={"unit": "u1", "instances": [ROW, long_tenure]}
    ).json()
    assert body["predictions"] == [{"offer": 1}, {"offer": 0}]
    assert len(body["request_id"]) == 32
    assert (body["model"], body["version"]) == ("offer", 1)
    assert [(s["stage"], s["model"], s["version"], s["arm"]) for s in body["stages"]] == [
        ("risk", "risk", 1, "champion"),
        ("offer", "offer", 1, "champion"),
    ]
    described = chained.get("/v1/endpoints/churn").json()
    assert described["serving"] == ["risk/1", "offer/1"]


def _refused(client: TestClient, stages: list[dict[str, Any]]) -> tuple[int, str]:
    response = client.put(
        "/v1/endpoints/bad", json={"policy": "stages", "params": {"stages": stages}}
    )
    return response.status_code, response.json()["error"]["message"]


def test_mapping_errors_are_refused_when_set_naming_the_stage_and_field(
    chained: TestClient,
) -> None:
    risk = {"name": "risk", "model": "risk@champion"}
    offer = {"name": "offer", "model": "offer@champion"}
    inputs = {"risk": "risk.risk", "contract": "request.contract"}
    status, message = _refused(chained, [risk, offer | {"inputs": inputs | {"riks": "risk.risk"}}])
    assert status == 422 and "Stage 'offer'" in message and "inputs.riks" in message
    status, message = _refused(chained, [risk, offer | {"inputs": {"risk": "risk.risk"}}])
    assert status == 422 and "Stage 'offer'" in message and "'contract' is not mapped" in message
    status, message = _refused(chained, [risk, offer | {"inputs": inputs | {"risk": "risk.score"}}])
    assert status == 422 and "inputs.risk" in message and "no output 'score'" in message
    status, message = _refused(chained, [offer | {"inputs": inputs}, risk])
    assert (
        status == 422 and "stages[0].inputs.risk" in message and "not an earlier stage" in message
    )
    status, message = _refused(
        chained, [risk, offer | {"inputs": inputs | {"contract": "risk.risk"}}]
    )
    assert status == 422 and "inputs.contract" in message and "wants a string" in message
    status, message = _refused(chained, [risk, risk])
    assert status == 422 and "'risk' is taken" in message
    assert chained.get("/v1/endpoints/bad").status_code == 404  # nothing was stored


def test_a_bandit_on_the_first_stage_learns_from_feedback_on_the_request(
    services: Services, model_folder: ModelFolders, chained: TestClient
) -> None:
    _risk_challenger(services, model_folder, centre=12)
    bandit = {
        "name": "risk",
        "policy": "bandit",
        "params": {"arms": {"a": "risk/1", "b": "risk/2"}, "reward": "click", "floor": 0.05},
        "inputs": {},
    }
    params = {"stages": [bandit, RISK_THEN_OFFER["stages"][1]]}
    response = chained.put("/v1/endpoints/churn", json={"policy": "stages", "params": params})
    assert response.status_code == 200, response.text
    answers = _predict_units(chained, 200)
    # The request's arm is the bandit's; the stage answered with that arm's version.
    arms = {a["request_id"]: a["arm"] for a in answers}
    assert set(arms.values()) == {"a", "b"}
    assert all(
        a["stages"][0]["version"] == {"a": 1, "b": 2}[a["arm"]] and a["stages"][1]["version"] == 1
        for a in answers
    )
    wait_until_written(chained)
    # Users click the offers of requests the bandit's arm b served.
    clicks = [{"request_id": r, "kind": "click"} for r, arm in arms.items() if arm == "b"]
    assert chained.post("/v1/feedback/batch", json={"events": clicks}).status_code == 201
    deadline = time.monotonic() + 20
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        state = chained.get("/v1/endpoints/churn").json()["stages"][0]["bandit"]
        if state["b"]["successes"] > 0:
            break
        time.sleep(0.1)
    assert state["b"]["successes"] == state["b"]["trials"] == len(clicks)
    assert (state["a"]["successes"], state["a"]["trials"]) == (0, 200 - len(clicks))
    # Arm b is surely best: it keeps all but the floor the other arm is owed.
    assert state["b"]["probability"] == pytest.approx(0.95)
    assert state["a"]["probability"] == pytest.approx(0.05)
    later = chained.post("/v1/endpoints/churn/predict", json={"unit": "v", "instances": [ROW]})
    events = chained.get(f"/v1/endpoints/churn/requests/{later.json()['request_id']}")
    for _ in range(50):
        if events.status_code == 200:
            break
        time.sleep(0.1)
        events = chained.get(f"/v1/endpoints/churn/requests/{later.json()['request_id']}")
    request_event = events.json()["events"][-1]
    assert (request_event["stage"], request_event["arm"]) == ("offer", later.json()["arm"])


def test_a_ranking_chain_hands_the_first_stage_items_to_the_second(
    services: Services, model_folder: ModelFolders, client: TestClient
) -> None:
    _register(services, model_folder("echo_ranker"), "retrieve")
    _register(services, model_folder("rerank"), "rerank")
    rerank = {
        "name": "rerank",
        "model": "rerank@champion",
        "inputs": {"candidates": "retrieve.items"},
    }
    params = {"stages": [{"name": "retrieve", "model": "retrieve@champion", "k": 5}, rerank]}
    assert (
        client.put("/v1/endpoints/recs", json={"policy": "stages", "params": params}).status_code
        == 200
    )
    body = client.post("/v1/endpoints/recs/rank", json={"unit": "u1", "k": 3}).json()
    assert [i["item"] for i in body["items"]] == ["e", "d", "c"]
    assert [s["stage"] for s in body["stages"]] == ["retrieve", "rerank"]
    pair = {"champion": "retrieve@champion", "challenger": "retrieve@champion"}
    interleaved = {"name": "retrieve", "policy": "interleave", "params": pair, "k": 5}
    status, message = _refused(client, [interleaved, rerank])
    assert status == 422 and "only the last stage" in message
    refused = client.post("/v1/endpoints/recs/predict", json={"instances": [ROW]})
    assert refused.status_code == 422 and "/rank" in refused.json()["error"]["message"]


def test_a_canary_on_the_second_stage_leaves_the_first_unchanged(
    services: Services, model_folder: ModelFolders, chained: TestClient
) -> None:
    folder = model_folder("offer")
    (folder / "bar.txt").write_text("0.99")  # the challenger offers nothing
    _register(services, folder, "offer", alias="challenger")
    canary = {
        "name": "offer",
        "policy": "canary",
        "params": {"champion": "offer@champion", "challenger": "offer@challenger", "share": 0.5},
        "inputs": {"risk": "risk.risk", "contract": "request.contract"},
    }
    params = {"stages": [RISK_THEN_OFFER["stages"][0], canary]}
    assert chained.put(
        "/v1/endpoints/churn", json={"policy": "stages", "params": params}
    ).is_success
    arms: dict[str, str] = {}
    for n in range(40):
        body = chained.post(
            "/v1/endpoints/churn/predict", json={"unit": f"u{n}", "instances": [ROW]}
        ).json()
        first, second = body["stages"]
        assert (first["model"], first["version"], first["arm"]) == ("risk", 1, "champion")
        assert body["arm"] == second["arm"]
        expected = {"champion": [{"offer": 1}], "challenger": [{"offer": 0}]}[second["arm"]]
        assert body["predictions"] == expected
        arms[f"u{n}"] = second["arm"]
    assert 8 <= list(arms.values()).count("challenger") <= 32
    for unit, arm in list(arms.items())[:10]:  # a unit stays in its arm
        body = chained.post(
            "/v1/endpoints/churn/predict", json={"unit": unit, "instances": [ROW]}
        ).json()
        assert body["arm"] == arm


def _canary_on_risk(client: TestClient, share: float) -> None:
    """Stage risk sends ``share`` of the units to risk@challenger; stage offer stays."""
    canary = {
        "name": "risk",
        "policy": "canary",
        "params": {"champion": "risk@champion", "challenger": "risk@challenger", "share": share},
    }
    params = {"stages": [canary, RISK_THEN_OFFER["stages"][1]]}
    assert client.put("/v1/endpoints/churn", json={"policy": "stages", "params": params}).is_success


def test_a_failing_challenger_stage_falls_back_to_its_champion(
    services: Services, model_folder: ModelFolders, chained: TestClient
) -> None:
    folder = model_folder("risk")
    (folder / "risk.py").write_text(
        "class RiskModel:\n"
        "    def predict(self, instances):\n"
        "        raise RuntimeError('this stage always fails')\n"
    )
    _register(services, folder, "risk", alias="challenger")
    _canary_on_risk(chained, share=1.0)
    body = chained.post("/v1/endpoints/churn/predict", json={"unit": "u1", "instances": [ROW]})
    assert body.status_code == 200, body.text
    first = body.json()["stages"][0]
    assert (first["arm"], first["version"], first["fallback_from"]) == ("challenger", 1, "risk/2")
    assert body.json()["predictions"] == [{"offer": 1}]
    assert body.json()["fallback_from"] == "risk/2"
    wait_until_written(chained)
    risk, offer = chained.get("/v1/endpoints/churn/stages").json()["stages"]
    assert risk["failures"] == [{"version": "risk/2", "reason": "error", "count": 1}]
    [served] = risk["versions"]
    assert (served["model"], served["version"], served["requests"], served["fallbacks"]) == (
        "risk",
        1,
        1,
        1,
    )
    assert served["latency_p50_ms"] is not None and served["latency_p99_ms"] is not None
    assert (offer["stage"], offer["failures"], offer["versions"][0]["fallbacks"]) == (
        "offer",
        [],
        0,
    )


def test_each_stage_event_is_logged_under_the_request_id(chained: TestClient) -> None:
    body = chained.post(
        "/v1/endpoints/churn/predict", json={"unit": "u1", "instances": [ROW]}
    ).json()
    wait_until_written(chained)
    events = chained.get(f"/v1/endpoints/churn/requests/{body['request_id']}").json()["events"]
    assert [(e["stage"], e["model"], e["version"]) for e in events] == [
        ("risk", "risk", 1),
        ("offer", "offer", 1),
    ]
    risk = events[0]["outputs"][0]["risk"]
    assert events[1]["inputs"] == [{"risk": risk, "contract": "Month-to-month"}]
    assert events[0]["inputs"] == [ROW]
    assert all(e["latency_ms"] >= 0 for e in events)
    assert {e["request_id"] for e in events} == {body["request_id"]}
    report = chained.get("/v1/diagnostics").json()
    timed = {(row["endpoint"], row["version"]) for row in report["serving"]}
    assert {("churn:risk", "risk/1"), ("churn", "offer/1")} <= timed  # each stage's own times
    checked = {v["version"]: v["sha256"] for v in report["dependencies"]["versions"]}
    assert checked == {"risk/1": "verified", "offer/1": "verified"}


def test_an_experiment_on_a_stage_compares_its_arms_and_promotes_that_stage_only(
    services: Services, model_folder: ModelFolders, chained: TestClient
) -> None:
    _risk_challenger(services, model_folder, centre=12)
    _canary_on_risk(chained, share=0.5)
    started = chained.put("/v1/endpoints/churn/experiment", json={"goal": "click_rate"})
    assert started.status_code == 200, started.text
    answers = _predict_units(chained, 40)
    clicked = [a["request_id"] for a in answers if a["arm"] == "challenger"]
    feedback = {"events": [{"request_id": rid, "kind": "click"} for rid in clicked]}
    assert chained.post("/v1/feedback/batch", json=feedback).status_code == 201
    wait_until_written(chained)
    report = chained.get("/v1/endpoints/churn/experiment").json()
    assert (report["stage"], report["policy"], report["share"]) == ("risk", "canary", 0.5)
    assert report["versions"] == {"champion": "risk/1", "challenger": "risk/2"}
    arms = {arm["arm"]: arm for arm in report["arms"]}
    assert arms["challenger"]["requests"] == len(clicked)
    assert arms["champion"]["requests"] == 40 - len(clicked)
    assert arms["challenger"]["metrics"]["click_rate"] == 1.0
    assert arms["champion"]["metrics"]["click_rate"] == 0.0
    promoted = chained.post("/v1/endpoints/churn/experiment/promote", json={})
    assert promoted.status_code == 200 and promoted.json()["stage"] == "risk", promoted.text
    config = chained.get("/v1/endpoints/churn").json()
    first, second = config["params"]["stages"]
    assert (first["policy"], first["params"]["live"]) == ("blue_green", "green")
    assert second == RISK_THEN_OFFER["stages"][1]
    body = chained.post("/v1/endpoints/churn/predict", json={"unit": "u1", "instances": [ROW]})
    assert [s["version"] for s in body.json()["stages"]] == [2, 1]


def test_the_last_ranking_stage_interleaves_and_clicks_credit_its_versions(
    services: Services, model_folder: ModelFolders, client: TestClient
) -> None:
    _register(services, model_folder("echo_ranker"), "retrieve")
    _register(services, model_folder("rerank"), "rerank")
    keep = model_folder("rerank")
    (keep / "rerank.py").write_text(  # the challenger keeps retrieval's order
        "class ReverseRanker:\n"
        "    def rank(self, unit, context, k):\n"
        "        return [(item, 1.0) for item in context['candidates'][:k]]\n"
    )
    _register(services, keep, "rerank", alias="challenger")
    pair = {"champion": "rerank@champion", "challenger": "rerank@challenger"}
    interleaved = {
        "name": "rerank",
        "policy": "interleave",
        "params": pair,
        "inputs": {"candidates": "retrieve.items"},
    }
    params = {"stages": [{"name": "retrieve", "model": "retrieve@champion", "k": 6}, interleaved]}
    response = client.put("/v1/endpoints/recs", json={"policy": "stages", "params": params})
    assert response.status_code == 200, response.text
    clicks = []
    for n in range(12):
        body = client.post("/v1/endpoints/recs/rank", json={"unit": f"u{n}", "k": 4}).json()
        items = [i["item"] for i in body["items"]]
        assert len(set(items)) == 4 and set(items) <= set("abcdef")
        assert (body["arm"], [s["arm"] for s in body["stages"]]) == (
            "interleave",
            ["champion", "interleave"],
        )
        # Users click what the challenger puts first: retrieval's best items.
        clicks.append({"request_id": body["request_id"], "kind": "click", "item": "a"})
    wait_until_written(client)
    assert client.post("/v1/feedback/batch", json={"events": clicks}).status_code == 201
    [comparison] = client.get("/v1/endpoints/recs/interleaving").json()["comparisons"]
    assert (comparison["champion"], comparison["challenger"]) == ("rerank/1", "rerank/2")
    assert comparison["units_preferring_challenger"] > comparison["units_preferring_champion"]


def test_a_shadow_on_the_first_stage_is_logged_beside_it_and_never_changes_the_answer(
    services: Services, model_folder: ModelFolders, chained: TestClient
) -> None:
    _risk_challenger(services, model_folder, centre=0)  # the shadow sees almost no risk
    shadow = {
        "name": "risk",
        "policy": "shadow",
        "params": {"champion": "risk@champion", "challenger": "risk@challenger"},
    }
    params = {"stages": [shadow, RISK_THEN_OFFER["stages"][1]]}
    assert chained.put(
        "/v1/endpoints/churn", json={"policy": "stages", "params": params}
    ).is_success
    for n in range(3):
        body = chained.post(
            "/v1/endpoints/churn/predict", json={"unit": f"u{n}", "instances": [ROW]}
        ).json()
        assert body["predictions"] == [{"offer": 1}]  # the champion's risk went on
        assert [s["version"] for s in body["stages"]] == [1, 1]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        wait_until_written(chained)
        risk = chained.get("/v1/endpoints/churn/stages").json()["stages"][0]
        if risk["shadows"] and risk["shadows"][0]["requests"] == 3:
            break
        time.sleep(0.05)  # shadows answer off the response path
    [compared] = risk["shadows"]
    assert (compared["model"], compared["version"], compared["served_version"]) == ("risk", 2, 1)
    assert (compared["requests"], compared["errors"]) == (3, 0)


def test_a_failing_stage_without_fallback_fails_the_request_counted_once(
    services: Services, model_folder: ModelFolders, chained: TestClient
) -> None:
    failing = "class {name}:\n    def predict(self, instances):\n        raise RuntimeError('no')\n"
    for model, name in (("risk", "RiskModel"), ("offer", "OfferModel")):
        folder = model_folder(model)
        (folder / f"{model}.py").write_text(failing.format(name=name))
        _register(services, folder, model, alias="broken")
    first = [{"name": "risk", "model": "risk@broken"}, RISK_THEN_OFFER["stages"][1]]
    last = [RISK_THEN_OFFER["stages"][0], RISK_THEN_OFFER["stages"][1] | {"model": "offer@broken"}]
    failed = {}
    for stages in (first, last):
        put = chained.put(
            "/v1/endpoints/churn", json={"policy": "stages", "params": {"stages": stages}}
        )
        assert put.is_success, put.text
        response = chained.post("/v1/endpoints/churn/predict", json={"instances": [ROW]})
        assert response.status_code == 500
        failed[stages[0]["model"], stages[1]["model"]] = response.json()["error"]["message"]
    assert failed == {
        ("risk@broken", "offer@champion"): "Stage 'risk': Version risk/2 failed: RuntimeError: no",
        (
            "risk@champion",
            "offer@broken",
        ): "Stage 'offer': Version offer/2 failed: RuntimeError: no",
    }
    assert chained.get("/v1/endpoints/churn/stats").json()["errors"] == {"ModelFailed": 2}
    risk, offer = chained.get("/v1/endpoints/churn/stages").json()["stages"]
    assert (risk["errors"], offer["errors"]) == ({"ModelFailed": 1}, {"ModelFailed": 1})
    chained.put("/v1/endpoints/churn", json={"policy": "stages", "params": RISK_THEN_OFFER})
    missing = chained.post("/v1/endpoints/churn/predict", json={"instances": [{"tenure": 3}]})
    assert missing.status_code == 422  # the first stage refuses the instance
    risk = chained.get("/v1/endpoints/churn/stages").json()["stages"][0]
    assert risk["errors"] == {"ModelFailed": 1, "InvalidInput": 1}
    assert chained.get("/v1/endpoints/churn/stats").json()["errors"]["InvalidInput"] == 1
