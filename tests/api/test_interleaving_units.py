"""Interleaving over HTTP: clicks and purchases credited item by item, verdicts per unit."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from scipy import stats

from champion.services import Services
from tests.conftest import ModelFolders

CHAMPION_ITEMS = set("abcdefghijkl")
"""The fixture ranker's items; the challenger ranks z, y, x, w, v, u, so every shown item
tells which ranker placed it."""


def _interleave(
    served: Services, client: TestClient, model_folder: ModelFolders, name: str
) -> None:
    if "recs/2" not in {str(v.key) for v in served.registry.list_versions("recs")}:
        other = model_folder("echo_ranker")
        (other / "items.txt").write_text("z y x w v u")
        served.registry.register(other, model="recs", actor="t", aliases_to_set=("challenger",))
    client.put(
        f"/v1/endpoints/{name}",
        json={
            "policy": "interleave",
            "params": {"champion": "recs@champion", "challenger": "recs@challenger"},
        },
    ).raise_for_status()


def _wait_until_logged(client: TestClient, endpoint: str, requests: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        rows = client.get(f"/v1/endpoints/{endpoint}/stats").json()["versions"]
        if sum(row["requests"] for row in rows) >= requests:
            return
        time.sleep(0.05)
    raise AssertionError(f"{requests} requests to {endpoint} were not logged in time")


def _visit(
    client: TestClient,
    endpoint: str,
    visits: list[tuple[str, float, float]],
    rng: np.random.Generator,
    purchase: float = 0.0,
) -> list[dict[str, Any]]:
    """Each visit (unit, chance to click the challenger's top item, the champion's) shows a
    merged list of 4; returns the feedback sent. Clicks depend on the items only, never on
    the server's coin flips, so a seed fixes every outcome."""
    events: list[dict[str, Any]] = []
    for unit, p_challenger, p_champion in visits:
        answer = client.post(f"/v1/endpoints/{endpoint}/rank", json={"unit": unit, "k": 4}).json()
        shown = [entry["item"] for entry in answer["items"]]
        champion_items = [item for item in shown if item in CHAMPION_ITEMS]
        challenger_items = [item for item in shown if item not in CHAMPION_ITEMS]
        for items, chance in ((challenger_items, p_challenger), (champion_items, p_champion)):
            if rng.random() < chance:
                item = items[int(rng.integers(len(items)))]
                events.append({"request_id": answer["request_id"], "kind": "click", "item": item})
                if rng.random() < purchase:
                    events.append(
                        {
                            "request_id": answer["request_id"],
                            "kind": "purchase",
                            "item": item,
                            "value": 5.0,
                        }
                    )
        if purchase and rng.random() < 0.1:  # a purchase of no shown item stays with the champion
            events.append({"request_id": answer["request_id"], "kind": "purchase", "value": 1.0})
    _wait_until_logged(client, endpoint, len(visits))
    for start in range(0, len(events), 1000):
        response = client.post("/v1/feedback/batch", json={"events": events[start : start + 1000]})
        response.raise_for_status()
    return events


def test_stats_credit_interleaved_clicks_and_purchases_to_the_version_that_placed_the_item(
    served: Services, client: TestClient, model_folder: ModelFolders
) -> None:
    _interleave(served, client, model_folder, "recs")
    rng = np.random.default_rng(5)
    visits = [(f"u{n % 15}", 0.5, 0.3) for n in range(60)]
    events = _visit(client, "recs", visits, rng, purchase=0.5)

    rows = {
        f"{row['model']}/{row['version']}": row
        for row in client.get("/v1/endpoints/recs/stats").json()["versions"]
    }
    [comparison] = client.get("/v1/endpoints/recs/interleaving").json()["comparisons"]
    for version, placed in (("recs/1", CHAMPION_ITEMS), ("recs/2", None)):
        mine = [
            e
            for e in events
            if "item" in e and ((e["item"] in CHAMPION_ITEMS) == (placed is not None))
        ]
        clicks = sum(e["kind"] == "click" for e in mine)
        purchases = sum(e["kind"] == "purchase" for e in mine)
        if version == "recs/1":  # purchases without an item stay with the version that answered
            purchases += sum("item" not in e for e in events)
        row = rows[version]
        assert row["arm"] == "interleave"
        assert row["clicked_impressions"] == row["clicks"] == clicks > 0
        assert comparison["clicks"][version] == clicks
        assert row["purchases"] == purchases > 0
        assert row["impressions"] == 2 * len(visits)
    assert rows["recs/1"]["requests"] == len(visits) and rows["recs/2"]["requests"] == 0


def test_the_interleaving_route_tests_units_with_the_chosen_test(
    served: Services, client: TestClient, model_folder: ModelFolders
) -> None:
    _interleave(served, client, model_folder, "recs")
    rng = np.random.default_rng(2)
    # one very active unit prefers the champion; ten units prefer the challenger
    visits = [("heavy", 0.1, 0.9)] * 60 + [(f"u{n}", 0.9, 0.1) for n in range(10) for _ in (0, 1)]
    _visit(client, "recs", visits, rng)
    bodies = {
        test: client.get("/v1/endpoints/recs/interleaving", params={"test": test}).json()
        for test in ("sequential", "t", "sign", "bootstrap")
    }
    t = bodies["t"]["comparisons"][0]
    assert t["delta"] < 0 < t["preference"]  # pooled impressions favour the heavy unit
    assert (t["method"], t["units"]) == ("t", 11) and t["units_tested"] <= 11
    assert t["units_preferring_champion"] >= 1 and t["units_preferring_challenger"] >= 5
    assert {b["comparisons"][0]["method"] for b in bodies.values()} == {
        "sequential",
        "t",
        "sign",
        "bootstrap",
    }
    refused = client.get("/v1/endpoints/recs/interleaving", params={"test": "z"})
    assert refused.status_code == 422 and "test" in refused.text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.slow(seconds=12)
def test_half_the_users_preferring_each_ranker_declares_no_winner(
    served: Services, client: TestClient, model_folder: ModelFolders
) -> None:
    """The null of the issue: half the users strongly prefer each ranker, activity is
    heavy-tailed. Per-impression tests named a winner in about half of such runs."""
    runs, users = 30, 30
    named = {test: 0 for test in ("sequential", "t", "sign", "bootstrap")}
    impression_level = 0
    for seed in range(runs):
        endpoint = f"null{seed}"
        _interleave(served, client, model_folder, endpoint)
        rng = np.random.default_rng(seed)
        visits = []
        for user in range(users):
            preference = (0.6, 0.15) if user % 2 == 0 else (0.15, 0.6)
            count = min(1 + int(rng.pareto(1.0) * 2), 25)
            visits += [(f"user{user}", *preference)] * count
        _visit(client, endpoint, visits, rng)
        for test in named:
            [result] = client.get(
                f"/v1/endpoints/{endpoint}/interleaving", params={"test": test}
            ).json()["comparisons"]
            named[test] += result["preferred"] is not None
        wins, losses = result["wins"], result["losses"]
        impression_level += stats.binomtest(wins, wins + losses, 0.5).pvalue < 0.05
    assert all(count <= 0.05 * runs for count in named.values()), named
    assert impression_level >= 0.2 * runs  # the per-impression sign test's verdicts
