"""A pipeline endpoint watched stage by stage: a change of the first stage shows up as input
drift of the second, and the drift answer says the first stage moved first."""

from __future__ import annotations

import csv
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from champion.api import create_app
from champion.clock import FixedClock
from champion.services import Services
from champion.settings import Settings
from tests.conftest import ModelFolders, local_client, wait_until_written

BASE = datetime(2026, 12, 1, tzinfo=UTC)
CONTRACTS = ("Month-to-month", "One year", "Two year")


def _rows(rng: np.random.Generator, n: int) -> list[dict[str, Any]]:
    return [
        {
            "tenure": int(rng.integers(0, 73)),
            "charges": round(float(rng.uniform(20, 100)), 2),
            "contract": str(rng.choice(CONTRACTS)),
        }
        for _ in range(n)
    ]


def _risk(tenure: int, centre: float) -> float:
    return 1.0 / (1.0 + math.exp((tenure - centre) / 8.0))


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_a_first_stage_change_is_second_stage_input_drift_attributed_to_the_first(
    services: Services, model_folder: ModelFolders, settings: Settings
) -> None:
    rng = np.random.default_rng(7)
    training = _rows(rng, 400)
    risk = model_folder("risk")
    _write(risk / "reference.csv", training)
    services.registry.register(risk, model="risk", actor="t", aliases_to_set=("champion",))
    (risk / "centre.txt").write_text("48")  # a new first stage: everyone looks riskier
    services.registry.register(risk, model="risk", actor="t")
    offer = model_folder("offer")
    _write(
        offer / "reference.csv",
        [{"risk": _risk(int(r["tenure"]), 24.0), "contract": r["contract"]} for r in training],
    )
    services.registry.register(offer, model="offer", actor="t", aliases_to_set=("champion",))
    stages = [
        {"name": "risk", "model": "risk@champion"},
        {
            "name": "offer",
            "model": "offer@champion",
            "inputs": {"risk": "risk.risk", "contract": "request.contract"},
        },
    ]
    services.endpoints.set("churn", "stages", {"stages": stages}, actor="t")
    clock = FixedClock(BASE + timedelta(minutes=10))
    with local_client(create_app(settings, clock)) as client:
        for n in range(5):
            body = {"unit": f"u{n}", "instances": _rows(rng, 40)}
            assert client.post("/v1/endpoints/churn/predict", json=body).is_success
        moved = client.put("/v1/models/risk/aliases/champion", json={"version": 2})
        assert moved.is_success, moved.text
        clock.at = BASE + timedelta(minutes=70)
        for n in range(5):
            body = {"unit": f"u{n}", "instances": _rows(rng, 40)}
            answer = client.post("/v1/endpoints/churn/predict", json=body).json()
            assert answer["stages"][0]["version"] == 2
        wait_until_written(client)
        clock.at = BASE + timedelta(hours=2)
        window = {"start": (BASE + timedelta(hours=1)).isoformat(), "end": clock.at.isoformat()}
        second = client.get("/v1/endpoints/churn/drift", params=window | {"stage": "offer"})
        assert second.status_code == 200, second.text
        assert "risk" in second.json()["drifted_columns"]
        first = client.get("/v1/endpoints/churn/drift", params=window | {"stage": "risk"}).json()
        assert first["version"] == "risk/2" and not first["drifted_columns"]
        before = {"start": BASE.isoformat(), "end": window["start"], "stage": "offer"}
        assert (
            client.get("/v1/endpoints/churn/drift", params=before).json()["drifted_columns"] == []
        )
        unknown = client.get("/v1/endpoints/churn/drift", params=window | {"stage": "nope"})
        assert unknown.status_code == 404
        assert "Stages: risk, offer" in unknown.json()["error"]["message"]
        for stage in ("risk", "offer"):
            rule = {"endpoint": "churn", "stage": stage, "metric": "drift_share", "threshold": 0.0}
            put = client.put(f"/v1/alerts/rules/{stage}-drift", json=rule)
            assert put.status_code == 200 and put.json()["stage"] == stage, put.text
        changed = client.post("/v1/alerts/evaluate").json()["changed"]
        assert [(a["rule"], a["endpoint"], a["stage"]) for a in changed] == [
            ("offer-drift", "churn", "offer")
        ]
        typo = {"endpoint": "churn", "stage": "ofer", "metric": "drift_share", "threshold": 0.0}
        refused = client.put("/v1/alerts/rules/typo", json=typo)
        assert (
            refused.status_code == 404 and "no stage 'ofer'" in refused.json()["error"]["message"]
        )
        moves = client.get(
            "/v1/endpoints/churn/drift/stages",
            params={"window": "1h", "buckets": 2, "end": clock.at.isoformat()},
        ).json()
    assert moves["moved_first"] == "risk"
    by_stage = {s["stage"]: s for s in moves["stages"]}
    assert by_stage["risk"]["began"] == [{"version": "risk/2", "at": window["start"]}]
    assert by_stage["risk"]["first_alarm"] is None
    assert by_stage["offer"]["first_alarm"] == window["start"]
    assert "risk" in by_stage["offer"]["drifted"]
    assert by_stage["offer"]["began"] == []


def test_in_a_ranking_chain_a_new_reranker_is_the_stage_that_moved_first(
    services: Services, model_folder: ModelFolders, settings: Settings
) -> None:
    register = services.registry.register
    register(model_folder("echo_ranker"), model="retrieve", actor="t", aliases_to_set=("champion",))
    register(model_folder("rerank"), model="rerank", actor="t", aliases_to_set=("champion",))
    register(model_folder("rerank"), model="rerank", actor="t")  # a new build, same code
    stages = [
        {"name": "retrieve", "model": "retrieve@champion", "k": 5},
        {"name": "rerank", "model": "rerank@champion", "inputs": {"candidates": "retrieve.items"}},
    ]
    services.endpoints.set("recs", "stages", {"stages": stages}, actor="t")
    clock = FixedClock(BASE + timedelta(minutes=10))
    with local_client(create_app(settings, clock)) as client:
        for n in range(3):
            assert client.post("/v1/endpoints/recs/rank", json={"unit": f"u{n}", "k": 3}).is_success
        moved = client.put("/v1/models/rerank/aliases/champion", json={"version": 2})
        assert moved.is_success, moved.text
        clock.at = BASE + timedelta(minutes=70)
        for n in range(3):
            answer = client.post("/v1/endpoints/recs/rank", json={"unit": f"u{n}", "k": 3}).json()
            assert [s["version"] for s in answer["stages"]] == [1, 2]
        wait_until_written(client)
        clock.at = BASE + timedelta(hours=2)
        moves = client.get(
            "/v1/endpoints/recs/drift/stages",
            params={"window": "1h", "buckets": 2, "end": clock.at.isoformat()},
        ).json()
    # Rankers have no reference profile, so no alarm: the new version beginning to answer
    # for the last stage is the move, and retrieval did not move.
    assert moves["moved_first"] == "rerank"
    retrieve, rerank = moves["stages"]
    assert (retrieve["began"], retrieve["moved_at"]) == ([], None)
    assert "is a ranker" in retrieve["message"]
    second = (BASE + timedelta(hours=1)).isoformat()
    assert rerank["began"] == [{"version": "rerank/2", "at": second}]
    assert rerank["moved_at"] == second and rerank["first_alarm"] is None
