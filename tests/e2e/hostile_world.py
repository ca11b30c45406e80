"""An open server (loopback, no token) whose every free-text value is hostile markup.

What the dashboard shows and a caller chose: the actor (``X-Champion-Actor``) and reason of
every change, a version's lineage, alert rule descriptions, the category values of live
inputs (a predict caller's), experiment and pipeline run reasons, a quarantined cell, and
the item ids a ranker (``feed``) showed. The pipeline endpoint ``chain`` (``feed``'s items
handed to a re-ranking stage that runs an A/B test and an experiment) carries them in what
its stages panel and experiment show: the arm names of its tested stage, the input field its
re-ranker reads, and the items it ranks; ``gauged``'s first stage drifts on an input field
whose name (free text in a signature) is hostile. Names (of models, endpoints, aliases and stages)
are left plain: the API refuses anything but letters, digits, ``.``, ``_`` and ``-`` in them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import sqlalchemy as sa
import yaml

from champion import Client
from champion.db import read
from champion.events.tables import predictions
from champion.services import Services
from tests.automation.trainers import customers as training_rows
from tests.automation.trainers import spec, write_batch
from tests.conftest import LiveServer, ModelFolders
from tests.drift.traffic import customers, rows
from tests.e2e.chromium import HOSTILE


@dataclass
class HostileWorld:
    server: LiveServer
    services: Services

    @property
    def url(self) -> str:
        return self.server.url

    def http(self, actor: str = HOSTILE[1]) -> httpx.Client:
        """champion's own kind of caller, acting under a hostile name."""
        headers = {"X-Champion-Request": "1", "X-Champion-Actor": actor}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def predictions(self) -> int:
        with read(self.services.engine) as conn:
            return int(
                conn.execute(sa.select(sa.func.count()).select_from(predictions)).scalar_one()
            )

    def wait_for_predictions(self, count: int, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while self.predictions() < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"Waited {seconds:g} s for {count} logged predictions.")
            time.sleep(0.05)


def _pipeline(url: str, incoming: Path) -> None:
    # A bad cell is quarantined with a reason that quotes it; the run carries a hostile reason.
    bad = training_rows(120, seed=1).astype(object)
    bad.loc[3, "tenure"] = HOSTILE[2]
    write_batch(incoming, "0-initial.csv", bad)
    body = spec(incoming, model="attrition", deploy=None, automation="auto").to_json()
    with Client(url) as client:
        client.apply_pipeline({**body, "name": "attrition-retrain"}, reason=HOSTILE[0])
        run_id = client.start_run("attrition-retrain", reason=HOSTILE[3]).id
        deadline = time.monotonic() + 60
        while client.get_run("attrition-retrain", run_id).status not in {"succeeded", "failed"}:
            if time.monotonic() > deadline:
                raise AssertionError(f"Waited 60 s for pipeline run {run_id}.")
            time.sleep(0.1)


def _register(services: Services, model_folder: ModelFolders) -> None:
    scorer = model_folder("scorer")
    customers(600, seed=1).to_csv(scorer / "reference.csv", index=False)
    manifest = yaml.safe_load((scorer / "champion.yaml").read_text())
    manifest["lineage"] |= {"trained_by": HOSTILE[0], "description": HOSTILE[2]}
    (scorer / "champion.yaml").write_text(yaml.safe_dump(manifest))
    for alias in ("champion", "challenger"):
        services.registry.register(
            scorer, model="churn", actor=HOSTILE[3], aliases_to_set=(alias,), reason=HOSTILE[0]
        )


RANKER = """import json
from pathlib import Path


class Ranker:
    def load(self, path: Path) -> None:
        self.items = json.loads((path / "items.json").read_text())

    def rank(self, unit, context, k):
        return [(item, 1.0 / (i + 1)) for i, item in enumerate(self.items[:k])]
"""


def _ranker(services: Services, folder: Path) -> None:
    # A ranker whose item ids are the hostile values: its drift page draws and lists them.
    folder.mkdir(parents=True)
    (folder / "ranker.py").write_text(RANKER)
    (folder / "items.json").write_text(json.dumps(HOSTILE))
    manifest = {"kind": "ranker", "flavor": "python", "class": "ranker:Ranker"}
    (folder / "champion.yaml").write_text(yaml.safe_dump(manifest))
    services.registry.register(folder, model="feed", actor="tests", aliases_to_set=("champion",))
    services.endpoints.set("feed", "single", {"version": "feed@champion"}, actor="tests")


RERANKER = """class Reranker:
    def rank(self, unit, context, k):
        # The candidates come under whatever field name the stage maps them to.
        [candidates] = context.values()
        return [(item, 1.0 / (i + 1)) for i, item in enumerate(reversed(candidates[:k]))]
"""

CHAIN = {
    "stages": [
        {"name": "retrieve", "model": "feed@champion", "k": 4},
        {
            "name": "re_rank-2",
            "policy": "ab",
            "params": {
                "arms": {HOSTILE[0]: "rerank/1", HOSTILE[1]: "rerank/2"},
                "control": HOSTILE[0],
            },
            "inputs": {HOSTILE[2]: "retrieve.items"},
        },
    ]
}
"""A pipeline endpoint: ``feed`` hands its (hostile) items to a re-ranking stage whose A/B
arms and input field are hostile too."""


def _reranker(services: Services, folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "rerank.py").write_text(RERANKER)
    manifest = {"kind": "ranker", "flavor": "python", "class": "rerank:Reranker"}
    (folder / "champion.yaml").write_text(yaml.safe_dump(manifest))
    for _ in range(2):
        services.registry.register(folder, model="rerank", actor="tests")


def _chain(http: httpx.Client) -> None:
    # Units split between the arms by hash: enough of them that both answer.
    put = {"policy": "stages", "params": CHAIN, "reason": HOSTILE[3]}
    http.put("/v1/endpoints/chain", json=put).raise_for_status()
    design = {"goal": "click_rate", "guardrails": [], "reason": HOSTILE[0]}
    http.put("/v1/endpoints/chain/experiment", json=design).raise_for_status()
    for unit in range(12):
        shown = http.post("/v1/endpoints/chain/rank", json={"unit": f"c{unit}", "k": 4})
        shown.raise_for_status()
        click = {"request_id": shown.json()["request_id"], "kind": "click",
                 "item": HOSTILE[unit % len(HOSTILE)]}  # fmt: skip
        http.post("/v1/feedback", json=click).raise_for_status()


GAUGE = """class Gauge:
    def predict(self, instances):
        # One input, whatever its name: the value it holds.
        return [{"score": float(value)} for row in instances for value in row.values()]
"""

FIELD = HOSTILE[2]
"""The input field of ``gauge`` (a signature's field names are free text)."""
GAUGED = {
    "stages": [
        {"name": "gauge", "model": "gauge@champion", "inputs": {FIELD: f"request.{FIELD}"}},
        {
            "name": "score",
            "model": "churn@champion",
            "inputs": {name: f"request.{name}" for name in ("tenure", "charges", "contract")},
        },
    ]
}
"""A pipeline endpoint whose first stage reads a hostile field, and drifts on it."""


def _gauge(services: Services, folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "gauge.py").write_text(GAUGE)
    manifest = {
        "kind": "regressor",
        "flavor": "python",
        "class": "gauge:Gauge",
        "signature": {
            "inputs": [{"name": FIELD, "type": "number"}],
            "outputs": [{"name": "score", "type": "number"}],
        },
    }
    (folder / "champion.yaml").write_text(yaml.safe_dump(manifest))
    reference = pd.DataFrame({FIELD: np.random.default_rng(1).normal(0.0, 1.0, 600)})
    reference.to_csv(folder / "reference.csv", index=False)
    services.registry.register(folder, model="gauge", actor="tests", aliases_to_set=("champion",))


def _gauged(http: httpx.Client) -> None:
    # Live values far from the reference's: the stage drifts on its hostile field.
    put = {"policy": "stages", "params": GAUGED, "reason": HOSTILE[1]}
    http.put("/v1/endpoints/gauged", json=put).raise_for_status()
    live = rows(customers(200, seed=3))
    shifted = np.random.default_rng(2).normal(5.0, 1.0, len(live))
    instances = [row | {FIELD: float(x)} for row, x in zip(live, shifted, strict=True)]
    for start in range(0, len(instances), 50):
        body = {"unit": f"g{start}", "instances": instances[start : start + 50]}
        http.post("/v1/endpoints/gauged/predict", json=body).raise_for_status()


@contextmanager
def hostile_world(
    services: Services, model_folder: ModelFolders, tmp_path: Path
) -> Iterator[HostileWorld]:
    _register(services, model_folder)
    _ranker(services, tmp_path / "feed")
    _reranker(services, tmp_path / "rerank")
    _gauge(services, tmp_path / "gauge")
    with LiveServer(services.settings) as server:
        world = HostileWorld(server, services)
        with world.http() as http:
            canary = {"champion": "churn@champion", "challenger": "churn@challenger", "share": 0.5}
            http.put(
                "/v1/endpoints/churn",
                json={"policy": "canary", "params": canary, "reason": HOSTILE[1]},
            ).raise_for_status()
            http.put(
                "/v1/endpoints/churn/experiment",
                json={"goal": "click_rate", "guardrails": [], "reason": HOSTILE[2]},
            ).raise_for_status()
            live = rows(customers(120, seed=2))
            for i, row in enumerate(live):
                row["contract"] = HOSTILE[i % len(HOSTILE)]
            for start in range(0, len(live), 40):
                body = {"unit": f"u{start}", "instances": live[start : start + 40]}
                http.post("/v1/endpoints/churn/predict", json=body).raise_for_status()
            for unit in range(4):
                shown = http.post("/v1/endpoints/feed/rank", json={"unit": f"r{unit}", "k": 4})
                shown.raise_for_status()
                click = {"request_id": shown.json()["request_id"], "kind": "click",
                         "item": HOSTILE[unit]}  # fmt: skip
                http.post("/v1/feedback", json=click).raise_for_status()
            _chain(http)
            _gauged(http)
            # 3 churn and 4 feed requests, 12 through chain's two stages, 4 through gauged's.
            world.wait_for_predictions(7 + 2 * 12 + 2 * 4)
            rule = {
                "endpoint": "churn",
                "metric": "predictions",
                "threshold": 0,
                "window": "1h",
                "description": HOSTILE[3],
                "reason": HOSTILE[0],
            }
            http.put("/v1/alerts/rules/traffic", json=rule).raise_for_status()
            http.post("/v1/alerts/evaluate").raise_for_status()
        _pipeline(world.url, tmp_path / "incoming")
        yield world
