"""Rollout policies through the HTTP API, on both databases."""

from __future__ import annotations

import threading
import time
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from champion import audit
from champion.db import read
from champion.events.tables import prediction_items, predictions, shadow_predictions
from champion.registry.entities import VersionKey
from champion.services import Services
from champion.serving.policies.bandit import BanditPolicy
from tests.conftest import ModelFolders

ROW = {"tenure": 3, "charges": 12.5, "contract": "Month-to-month"}


def _register(services: Services, folder: Any, model: str, alias: str) -> None:
    services.registry.register(folder, model=model, actor="t", aliases_to_set=(alias,))


def _put(client: TestClient, endpoint: str, policy: str, **params: Any) -> Any:
    response = client.put(
        f"/v1/endpoints/{endpoint}",
        json={"policy": policy, "params": params, "reason": f"try {policy}"},
    )
    assert response.status_code == 200, response.text
    return response.json()


def _wait_for_events(services: Services, table: sa.Table, count: int) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with services.engine.connect() as conn:
            if conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() >= count:
                return
        time.sleep(0.05)


def test_a_failing_canary_is_answered_by_the_champion(
    served: Services, client: TestClient, model_folder: ModelFolders
) -> None:
    _register(served, model_folder("failing"), "churn", "challenger")
    _put(
        client,
        "churn",
        "canary",
        champion="churn@champion",
        challenger="churn@challenger",
        share=1.0,
    )
    for n in range(5):
        response = client.post(
            "/v1/endpoints/churn/predict", json={"unit": f"u{n}", "instances": [ROW]}
        )
        assert response.status_code == 200
        assert (response.json()["version"], response.json()["predictions"]) == (
            1,
            [{"score": 0.25}],
        )
    _wait_for_events(served, predictions, 5)
    with served.engine.connect() as conn:
        rows = conn.execute(
            sa.select(predictions.c.arm, predictions.c.fallback_from, predictions.c.version)
        ).all()
    assert rows == [("challenger", "churn/2", 1)] * 5
    metrics = client.get("/metrics").text
    assert (
        'champion_version_failures_total{endpoint="churn",model="churn",reason="error",'
        'version="2"} 5.0' in metrics
    )


def test_a_slow_or_failing_shadow_never_changes_the_answer(
    served: Services, client: TestClient, model_folder: ModelFolders
) -> None:
    _register(served, model_folder("slow"), "churn", "challenger")
    _put(client, "churn", "shadow", champion="churn@champion", challenger="churn@challenger")
    response = client.post("/v1/endpoints/churn/predict", json={"unit": "u", "instances": [ROW]})
    assert response.json()["predictions"] == [{"score": 0.25}]
    _wait_for_events(served, shadow_predictions, 1)
    with served.engine.connect() as conn:
        shadow = conn.execute(sa.select(shadow_predictions)).one()
    assert shadow.request_id == response.json()["request_id"]
    assert (shadow.version, shadow.outputs, shadow.error) == (2, [{"score": 0.5}], None)
    assert shadow.latency_ms >= 200


def test_blue_green_switches_atomically_without_restart(
    served: Services, client: TestClient, model_folder: ModelFolders
) -> None:
    green = model_folder("constant")
    (green / "score.txt").write_text("0.75")
    served.registry.register(green, model="churn", actor="t")
    _put(client, "churn", "blue_green", blue="churn/1", green="churn/2", live="blue")
    seen: list[float] = []
    stop = threading.Event()

    def ask() -> None:
        while not stop.is_set():
            body = client.post("/v1/endpoints/churn/predict", json={"instances": [ROW]}).json()
            seen.append(body["predictions"][0]["score"])

    workers = [threading.Thread(target=ask) for _ in range(4)]
    for worker in workers:
        worker.start()
    for live in ("green", "blue", "green"):
        time.sleep(0.05)
        _put(client, "churn", "blue_green", blue="churn/1", green="churn/2", live=live)
    time.sleep(0.05)
    stop.set()
    for worker in workers:
        worker.join()
    assert set(seen) == {0.25, 0.75}
    after = client.post("/v1/endpoints/churn/predict", json={"instances": [ROW]}).json()
    assert after["predictions"] == [{"score": 0.75}]


def test_interleaving_credits_each_shown_item_to_one_team(
    served: Services, client: TestClient, model_folder: ModelFolders
) -> None:
    other = model_folder("echo_ranker")
    (other / "items.txt").write_text("z y x a b c w v u t s r")
    _register(served, other, "recs", "challenger")
    _put(client, "recs", "interleave", champion="recs@champion", challenger="recs@challenger")
    answers = [
        client.post("/v1/endpoints/recs/rank", json={"unit": f"u{n}", "k": 6}).json()
        for n in range(20)
    ]
    for answer in answers:
        assert set(answer) == {"request_id", "endpoint", "model", "version", "arm", "fallback_from",
                               "items"}  # fmt: skip
        assert answer["arm"] == "interleave"
        assert [i["position"] for i in answer["items"]] == [1, 2, 3, 4, 5, 6]
    clicks = [
        {"request_id": a["request_id"], "kind": "click", "item": "z"}
        for a in answers
        if any(i["item"] == "z" for i in a["items"])
    ]
    client.post("/v1/feedback/batch", json={"events": clicks})
    _wait_for_events(served, prediction_items, 120)
    with served.engine.connect() as conn:
        credits = dict(
            conn.execute(
                sa.select(prediction_items.c.item, prediction_items.c.version)
                .where(prediction_items.c.item.in_(["a", "z"]))
                .distinct()
            ).all()
        )
    assert credits == {"a": 1, "z": 2}  # each model's first pick is credited to it
    stats = {s["version"]: s for s in client.get("/v1/endpoints/recs/stats").json()["versions"]}
    assert stats[2]["clicked_impressions"] == len(clicks) == 20
    assert stats[1]["clicked_impressions"] == 0
    comparison = client.get("/v1/endpoints/recs/interleaving").json()["comparisons"]
    assert len(comparison) == 1
    result = comparison[0]
    assert (result["champion"], result["challenger"]) == ("recs/1", "recs/2")
    assert (result["units"], result["impressions"]) == (20, 20)
    assert (result["wins"], result["losses"], result["ties"]) == (20, 0, 0)
    assert result["delta"] == 0.5 and result["p_value"] < 1e-5
    assert result["preferred"] == "recs/2"


def test_interleave_refuses_classifiers(served: Services, client: TestClient) -> None:
    response = client.put(
        "/v1/endpoints/churn",
        json={"policy": "interleave", "params": {"champion": "churn/1", "challenger": "churn/1"}},
    )
    assert response.status_code == 422
    assert "interleave policy serves ranker models only" in response.json()["error"]["message"]


def test_policy_changes_are_versioned_and_audited(served: Services, client: TestClient) -> None:
    _put(client, "churn", "canary", champion="churn/1", challenger="churn/1", share=0.05)
    _put(client, "churn", "canary", champion="churn/1", challenger="churn/1", share=0.2)
    history = client.get("/v1/endpoints/churn/history").json()["history"]
    assert [(h["config_version"], h["policy"], h["reason"]) for h in history] == [
        (1, "single", ""),
        (2, "canary", "try canary"),
        (3, "canary", "try canary"),
    ]
    with read(served.engine) as conn:
        records = audit.list_audit(conn, target="churn")
    latest = records[0]
    assert latest.action == "endpoint.configure"
    assert latest.details["previous"]["params"]["share"] == 0.05


def test_bandit_logs_assignment_probabilities(served: Services, client: TestClient) -> None:
    _put(client, "churn", "bandit", arms={"a": "churn/1", "b": "churn/1"}, floor=0.1)
    for n in range(20):
        client.post("/v1/endpoints/churn/predict", json={"unit": f"u{n}", "instances": [ROW]})
    _wait_for_events(served, predictions, 20)
    with served.engine.connect() as conn:
        rows = conn.execute(sa.select(predictions.c.arm, predictions.c.probability)).all()
    assert {arm for arm, _ in rows} <= {"a", "b"}
    # Rewards refresh while requests arrive, so each request may have seen any earlier
    # (successes=0, trials) state; its logged probability must be that state's Thompson share.
    policy = BanditPolicy(
        {"a": VersionKey("churn", 1), "b": VersionKey("churn", 1)}, "click", 0.1, "a"
    )
    possible: dict[str, set[float]] = {"a": set(), "b": set()}
    for trials_a in range(20):
        for trials_b in range(20 - trials_a):
            shares = policy.with_counts({"a": (0, trials_a), "b": (0, trials_b)}).probabilities
            for arm in possible:
                possible[arm].add(round(shares[arm], 12))
    assert all(round(p, 12) in possible[arm] for arm, p in rows)
    assert all(0.1 <= p <= 0.9 for _, p in rows)


def test_requests_without_a_unit_are_randomised_per_request_and_marked(
    served: Services, client: TestClient
) -> None:
    ids = [
        client.post("/v1/endpoints/churn/predict", json={"instances": [ROW]}).json()["request_id"]
        for _ in range(3)
    ]
    _wait_for_events(served, predictions, 3)
    with served.engine.connect() as conn:
        rows = conn.execute(
            sa.select(predictions.c.request_id, predictions.c.unit, predictions.c.unit_randomised)
        ).all()
    assert sorted(rows) == sorted((i, i, True) for i in ids)


def test_a_policy_change_by_another_process_is_served_within_a_second(
    served: Services, client: TestClient, model_folder: ModelFolders
) -> None:
    green = model_folder("constant")
    (green / "score.txt").write_text("0.75")
    served.registry.register(green, model="churn", actor="t")
    client.post("/v1/endpoints/churn/predict", json={"instances": [ROW]})  # server is warm
    served.endpoints.set(
        "churn",
        "blue_green",
        {"blue": "churn/1", "green": "churn/2", "live": "green"},
        actor="other-process",
    )
    deadline = time.monotonic() + 1.0
    score = None
    while time.monotonic() < deadline and score != 0.75:
        body = client.post("/v1/endpoints/churn/predict", json={"instances": [ROW]}).json()
        score = body["predictions"][0]["score"]
        time.sleep(0.02)
    assert score == 0.75


def test_bandit_learns_from_feedback_and_shifts_traffic(
    served: Services, client: TestClient
) -> None:
    _put(client, "churn", "bandit", arms={"a": "churn/1", "b": "churn/1"}, floor=0.05)
    events = []
    for n in range(200):
        body = client.post(
            "/v1/endpoints/churn/predict", json={"unit": f"u{n}", "instances": [ROW]}
        ).json()
        events.append(body["request_id"])
    _wait_for_events(served, predictions, 200)
    with served.engine.connect() as conn:
        arms = dict(conn.execute(sa.select(predictions.c.request_id, predictions.c.arm)).all())
    clicks = [{"request_id": r, "kind": "click"} for r in events if arms[r] == "b"]
    client.post("/v1/feedback/batch", json={"events": clicks})
    deadline = time.monotonic() + 20
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        state = client.get("/v1/endpoints/churn").json()["bandit"]
        if state["b"]["successes"] > 0:
            break
        time.sleep(0.1)
    assert state["b"]["successes"] == state["b"]["trials"] == len(clicks)
    assert state["a"]["successes"] == 0
    assert state["b"]["probability"] > 0.9 and abs(state["a"]["probability"] - 0.05) < 0.01
