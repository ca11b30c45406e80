"""The experiment routes: shape, validation, and what each policy reports."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from champion import audit
from champion.db import read
from champion.services import Services
from tests.conftest import ModelFolders, wait_until_written

ROW = {"tenure": 3, "charges": 12.5, "contract": "Month-to-month"}


def _second_version(served: Services, model_folder: ModelFolders) -> None:
    served.registry.register(
        model_folder("constant"), model="churn", actor="t", aliases_to_set=("challenger",)
    )


def _canary(client: TestClient, champion: str, challenger: str, share: float) -> None:
    params = {"champion": champion, "challenger": challenger, "share": share}
    response = client.put("/v1/endpoints/churn", json={"policy": "canary", "params": params})
    assert response.status_code == 200, response.text


def _put(client: TestClient, endpoint: str, **design: Any) -> Any:
    return client.put(f"/v1/endpoints/{endpoint}/experiment", json=design)


def _serve(client: TestClient, units: int) -> list[str]:
    """One request for each of units ``u0`` .. ``u{units - 1}``, stored before it returns."""
    ids = [
        client.post(
            "/v1/endpoints/churn/predict", json={"unit": f"u{n}", "instances": [ROW]}
        ).json()["request_id"]
        for n in range(units)
    ]
    wait_until_written(client)
    return ids


def test_unknown_endpoints_and_missing_experiments_are_404(
    served: Services, client: TestClient
) -> None:
    missing = client.get("/v1/endpoints/nope/experiment")
    assert missing.status_code == 404 and "Unknown endpoint 'nope'" in missing.text
    none = client.get("/v1/endpoints/churn/experiment")
    assert none.status_code == 404
    assert "has no experiment. Start one with PUT" in none.json()["error"]["message"]


def test_an_endpoint_without_a_comparison_refuses_an_experiment(
    served: Services, client: TestClient
) -> None:
    response = _put(client, "churn", goal="click_rate")
    assert response.status_code == 422
    assert "uses the single policy, which compares no versions" in response.text


def test_bad_designs_are_422_naming_the_field(
    served: Services, client: TestClient, model_folder: ModelFolders
) -> None:
    _second_version(served, model_folder)
    _canary(client, "churn/1", "churn/2", 0.1)
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "goal: Field required"),
        ({"goal": "click_rate", "alpha": 0}, "alpha: Input should be greater than 0"),
        ({"goal": "click_rate", "automation": "yolo"}, "automation: Input should be 'manual'"),
        ({"goal": "interleaving"}, "'interleaving' needs an interleave endpoint"),
        ({"goal": "click_rate", "ramp": {"steps": [0.2, 0.1]}}, "steps must increase"),
    ]
    for design, message in cases:
        response = _put(client, "churn", **design)
        assert response.status_code == 422, design
        assert message in response.json()["error"]["message"], response.text
    with read(served.engine) as conn:
        assert not [r for r in audit.list_audit(conn) if r.action.startswith("experiment.")]


def test_a_canary_experiment_reports_arms_tests_health_and_a_decision(
    served: Services, client: TestClient, model_folder: ModelFolders
) -> None:
    _second_version(served, model_folder)
    _canary(client, "churn@champion", "churn@challenger", 0.5)
    started = _put(client, "churn", goal="click_rate", min_sample=5, reason="try v2")
    assert started.status_code == 200, started.text
    ids = _serve(client, 40)
    client.post(
        "/v1/feedback/batch",
        json={"events": [{"request_id": i, "kind": "click"} for i in ids[::3]]},
    )
    body = client.get("/v1/endpoints/churn/experiment").json()
    assert {
        "id",
        "endpoint",
        "status",
        "design",
        "policy",
        "share",
        "versions",
        "arms",
        "results",
        "health",
        "decision",
        "pending",
        "started_at",
    } <= set(body)
    assert (body["status"], body["policy"], body["share"]) == ("running", "canary", 0.5)
    assert body["versions"] == {"champion": "churn/1", "challenger": "churn/2"}
    arms = {arm["arm"]: arm for arm in body["arms"]}
    assert sum(arm["requests"] for arm in arms.values()) == 40
    assert set(arms["champion"]["metrics"]) >= {"click_rate", "error_rate", "latency_ms"}
    assert set(arms["champion"]["latency_ms"]) == {"p50", "p95", "p99"}
    goal, *guardrails = body["results"]
    assert (goal["metric"], goal["role"], goal["method"]) == ("click_rate", "goal", "sequential")
    assert len(goal["ci"]) == 2 and 0 <= goal["p_value"] <= 1
    assert [g["metric"] for g in guardrails] == ["error_rate", "latency_ms"]
    assert {h["name"] for h in body["health"]} == {"srm", "coverage"}
    assert body["decision"]["decision"] in {"promote", "continue", "rollback"}
    assert body["decision"]["reason"]
    # Changing the running experiment's design keeps it (same id), audited.
    again = _put(client, "churn", goal="click_rate", min_sample=50, automation="approve")
    assert again.json()["id"] == body["id"] and again.json()["design"]["min_sample"] == 50
    with read(served.engine) as conn:
        actions = [r.action for r in audit.list_audit(conn, target="churn")]
    assert actions[:2] == ["experiment.configure", "experiment.start"]


def test_an_ab_test_with_two_challengers_names_the_arm_to_promote(
    served: Services, client: TestClient, model_folder: ModelFolders
) -> None:
    _second_version(served, model_folder)
    arms = {"control": "churn/1", "b": "churn/2", "c": "churn/2"}
    client.put("/v1/endpoints/churn", json={"policy": "ab", "params": {"arms": arms}})
    assert _put(client, "churn", goal="click_rate").status_code == 200
    _serve(client, 30)
    body = client.get("/v1/endpoints/churn/experiment").json()
    assert [arm["arm"] for arm in body["arms"]] == ["control", "b", "c"]
    assert {r["arm"] for r in body["results"]} == {"b", "c"}
    response = client.post("/v1/endpoints/churn/experiment/promote", json={})
    assert response.status_code == 422 and "Name the arm to promote" in response.text
    response = client.post("/v1/endpoints/churn/experiment/promote", json={"arm": "c"})
    assert response.status_code == 200 and response.json()["status"] == "promoted"


def test_a_bandit_reports_inverse_propensity_estimates(
    served: Services, client: TestClient
) -> None:
    client.put(
        "/v1/endpoints/churn",
        json={"policy": "bandit", "params": {"arms": {"a": "churn/1", "b": "churn/1"}}},
    )
    assert _put(client, "churn", goal="click_rate").status_code == 200
    ids = _serve(client, 30)
    client.post("/v1/feedback/batch", json={"events": [{"request_id": ids[0], "kind": "click"}]})
    body = client.get("/v1/endpoints/churn/experiment").json()
    estimates = {e["arm"]: e for e in body["propensity"]}
    assert set(estimates) <= {"a", "b"} and estimates
    assert all(e["requests"] == 30 and len(e["ips_ci"]) == 2 for e in estimates.values())
    assert "inverse-propensity" in body["decision"]["reason"]


def test_an_interleaving_experiment_is_scored_by_preference(
    served: Services, client: TestClient, model_folder: ModelFolders
) -> None:
    other = model_folder("echo_ranker")
    (other / "items.txt").write_text("z y x a b c")
    served.registry.register(other, model="recs", actor="t", aliases_to_set=("challenger",))
    client.put(
        "/v1/endpoints/recs",
        json={
            "policy": "interleave",
            "params": {"champion": "recs@champion", "challenger": "recs@challenger"},
        },
    )
    refused = _put(client, "recs", goal="interleaving", guardrails=[{"metric": "error_rate"}])
    assert refused.status_code == 422 and "per-arm guardrails do not apply" in refused.text
    assert _put(client, "recs", goal="interleaving", min_sample=5).status_code == 200
    answers = [
        client.post("/v1/endpoints/recs/rank", json={"unit": f"u{n}", "k": 4}).json()
        for n in range(12)
    ]
    wait_until_written(client)
    client.post(
        "/v1/feedback/batch",
        json={
            "events": [
                {"request_id": a["request_id"], "kind": "click", "item": "z"} for a in answers
            ]
        },
    )
    body = client.get("/v1/endpoints/recs/experiment").json()
    [goal] = body["results"]
    assert (goal["metric"], goal["challenger"]) == ("interleaving", 1.0)
    assert body["interleaving"]["wins"] == 12 and goal["verdict"] == "better"
    assert body["decision"]["action"] == "promote"


def test_every_endpoints_latest_experiment_is_listed(
    served: Services, client: TestClient, model_folder: ModelFolders
) -> None:
    assert client.get("/v1/experiments").json() == {"experiments": []}
    _second_version(served, model_folder)
    _canary(client, "churn/1", "churn/2", 0.5)
    first = _put(client, "churn", goal="click_rate").json()
    client.post("/v1/endpoints/churn/experiment/rollback", json={"reason": "not now"})
    _canary(client, "churn/1", "churn/2", 0.5)
    second = _put(client, "churn", goal="error_rate", automation="approve").json()
    [listed] = client.get("/v1/experiments").json()["experiments"]
    assert listed["id"] == second["id"] != first["id"]
    assert (listed["status"], listed["design"]["goal"]) == ("running", "error_rate")
    assert listed["pending"] is None and listed["last_decision"] is None
