"""A policy from the champion.policies entry point runs experiments as the built-in ones do."""

from __future__ import annotations

import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest
from fastapi.testclient import TestClient

from champion.registry import VersionKey
from champion.services import Services
from champion.serving.policies import (
    Assignment,
    PolicyArms,
    Resolve,
    Route,
    Served,
    single_answer,
)
from champion.testing import check_policy
from champion.types import Json
from tests.conftest import ModelFolders, wait_until_written

ROW = {"tenure": 3, "charges": 12.5, "contract": "Month-to-month"}


class HalvesPolicy:
    """Units in the lower half of the buckets go to ``left``, the others to ``right``: written
    as a user would, from champion's public names only."""

    name: ClassVar[str] = "halves"
    kinds: ClassVar[frozenset[str] | None] = None
    example_params: ClassVar[dict[str, Any]] = {"left": "m/1", "right": "m/2"}

    def __init__(self, left: VersionKey, right: VersionKey) -> None:
        self.left = left
        self.right = right

    @classmethod
    def references(cls, params: Mapping[str, Any]) -> list[str]:
        return [str(params["left"]), str(params["right"])]

    @classmethod
    def build(cls, params: Mapping[str, Any], resolve: Resolve) -> HalvesPolicy:
        return cls(resolve(params["left"]), resolve(params["right"]))

    @classmethod
    def compared_arms(cls, params: Mapping[str, Any]) -> PolicyArms:
        return PolicyArms(
            "left",
            {"left": params["left"], "right": params["right"]},
            shares={"left": 0.5, "right": 0.5},
        )

    def versions(self) -> tuple[VersionKey, ...]:
        return (self.left, self.right)

    def route(self, assignment: Assignment) -> Route:
        if assignment.bucket < 5000:
            return Route(arm="left", calls=(self.left,), probability=0.5)
        return Route(arm="right", calls=(self.right,), fallback=self.left, probability=0.5)

    def attribute(
        self,
        route: Route,
        outputs: Mapping[VersionKey, list[Json]],
        *,
        ranking: bool,
        k: int,
        rng: random.Random,
    ) -> Served:
        version = route.calls[0]
        return single_answer(version, outputs[version], ranking=ranking, k=k)


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The policy's distribution installed: its metadata declares the entry point."""
    site = tmp_path / "site-packages"
    info = site / "champion_halves-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: champion-halves\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[champion.policies]\nhalves = tests.evaluation.test_plugin_policy:HalvesPolicy\n"
    )
    monkeypatch.syspath_prepend(str(site))


def test_the_plugin_policy_keeps_the_contract() -> None:
    check_policy(HalvesPolicy)


def test_an_experiment_on_a_plugin_policy_compares_its_arms(
    installed: None, served: Services, client: TestClient, model_folder: ModelFolders
) -> None:
    served.registry.register(model_folder("constant"), model="churn", actor="t")
    params = {"left": "churn/1", "right": "churn/2"}
    response = client.put("/v1/endpoints/churn", json={"policy": "halves", "params": params})
    assert response.status_code == 200, response.text
    started = client.put("/v1/endpoints/churn/experiment", json={"goal": "click_rate"})
    assert started.status_code == 200, started.text
    for n in range(40):
        client.post("/v1/endpoints/churn/predict", json={"unit": f"u{n}", "instances": [ROW]})
    wait_until_written(client)
    body = client.get("/v1/endpoints/churn/experiment").json()
    assert [arm["arm"] for arm in body["arms"]] == ["left", "right"]
    assert {r["arm"] for r in body["results"]} == {"right"}
    # The policy's shares are what the sample-ratio check expects.
    assert body["regime"]["expected_shares"] == {"left": 0.5, "right": 0.5}
    srm = next(h for h in body["health"] if h["name"] == "srm")
    assert srm["status"] == "ok", srm
    assert srm["numbers"]["expected_shares"] == {"left": 0.5, "right": 0.5}
    promoted = client.post("/v1/endpoints/churn/experiment/promote", json={"arm": "right"})
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["status"] == "promoted"
    answers = [
        client.post("/v1/endpoints/churn/predict", json={"unit": f"u{n}", "instances": [ROW]})
        for n in range(10)
    ]
    assert {a.json()["version"] for a in answers} == {2}
