"""A running server with something to show on every dashboard page, fed real traffic.

* ``churn``: a canary (50 %) of two scorers with reference profiles, under an experiment
  whose automation is ``approve``; the controller has proposed a ramp. Its traffic comes in
  two waves a few seconds apart, the second of newer customers (drift), with clicks and
  labels (performance).
* ``recs``: two rankers interleaved under an interleaving experiment, with clicks.
* ``scores``: churn/1 answers and churn/3 (whose risk falls later in tenure) scores the same
  customers in its shadow; most of them get labels.
* two alert rules: one open (drift), one opened and resolved (traffic, then quiet).
* a pipeline with two runs, whose first file has a row in quarantine.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from champion import Client
from champion.answers import RunAnswer
from champion.server_process import ServerProcess
from champion.services import Services
from tests.automation.trainers import customers as training_rows
from tests.automation.trainers import spec, write_batch
from tests.conftest import ModelFolders
from tests.drift.traffic import customers, rows

T = TypeVar("T")
WAVE_SECONDS = 3
"""The drift page shows windows of this width, so that the two waves fall in different ones."""
QUIET_SECONDS = 4
"""The traffic rule's window: quiet for this long after the last wave, its alert resolves."""
SERVER_ENV = {
    "CHAMPION_ALERT_INTERVAL_SECONDS": "3600",  # alerts are evaluated when the world says
    "CHAMPION_CONTROLLER_INTERVAL_SECONDS": "0.5",
    "CHAMPION_SCHEDULER_SECONDS": "0.5",
    "CHAMPION_PACKAGE_INDEX_URL": "",  # offline: the diagnosis asks no package index
    # Alerts are evaluated right after a wave: its last predictions must be stored by then.
    "CHAMPION_EVENT_FLUSH_SECONDS": "0.02",
}


@dataclass
class World:
    server: ServerProcess
    admin: str
    viewer: str

    def client(self) -> Client:
        return Client(self.server.url, token=self.admin)


def wait_for(what: str, check: Callable[[], T | None], seconds: float = 30) -> T:
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"Waited {seconds:g} s for {what}.")
        time.sleep(0.1)


def _register(services: Services, model_folder: ModelFolders, tmp_path: Path) -> None:
    register = services.registry.register
    scorer = model_folder("scorer")
    customers(2000, seed=1).to_csv(scorer / "reference.csv", index=False)
    register(scorer, model="churn", actor="tests", aliases_to_set=("champion",))
    register(scorer, model="churn", actor="tests", aliases_to_set=("challenger",))
    register(model_folder("echo_ranker"), model="recs", actor="tests", aliases_to_set=("champion",))
    other = tmp_path / "other_ranker"
    shutil.copytree(model_folder("echo_ranker"), other)
    (other / "items.txt").write_text("c b a d e")
    register(other, model="recs", actor="tests", aliases_to_set=("challenger",))
    services.endpoints.set("churn", "single", {"version": "churn@champion"}, actor="tests")
    canary = {"champion": "churn@champion", "challenger": "churn@challenger", "share": 0.5}
    services.endpoints.set(
        "churn", "canary", canary, actor="ana", reason="try the new scorer", salt="dashboard"
    )
    pair = {"champion": "recs@champion", "challenger": "recs@challenger"}
    services.endpoints.set("recs", "interleave", pair, actor="ana", reason="compare rankers")
    later = tmp_path / "later_scorer"
    shutil.copytree(scorer, later)
    (later / "scorer.py").write_text((scorer / "scorer.py").read_text().replace("- 24.0", "- 30.0"))
    register(later, model="churn", actor="tests")  # churn/3
    shadow = {"champion": "churn/1", "challenger": "churn/3"}
    services.endpoints.set("scores", "shadow", shadow, actor="ana", reason="watch the new curve")


def _wave(client: Client, start: int, shift: float, rng: np.random.Generator) -> None:
    frame = customers(60, seed=10 + start, shift=shift)
    events: list[dict[str, Any]] = []
    for offset, row in enumerate(rows(frame)):
        answer = client.predict("churn", [row], unit=f"customer-{start + offset}")
        churned = int(row["tenure"] < 24) if rng.random() < 0.8 else int(row["tenure"] >= 24)
        events.append({"request_id": answer.request_id, "kind": "label", "label": churned})
        if rng.random() < (0.5 if answer.version == 2 else 0.2):  # churn/2: the challenger
            events.append({"request_id": answer.request_id, "kind": "click"})
    client.feedback_batch(events)


def _shadowed(client: Client) -> None:
    events = []
    for i, row in enumerate(rows(customers(40, seed=7))):
        answer = client.predict("scores", [row], unit=f"customer-{i}")
        if i < 30:
            label = int(row["tenure"] < 27)
            events.append({"request_id": answer.request_id, "kind": "label", "label": label})
    client.feedback_batch(events)


def _rankings(client: Client) -> None:
    events = []
    for i in range(30):
        answer = client.rank("recs", unit=f"user-{i}", k=3)
        shown = [item.item for item in answer.items]
        events.append({"request_id": answer.request_id, "kind": "click", "item": shown[i % 3]})
    client.feedback_batch(events)


def _pipeline(client: Client, incoming: Path) -> None:
    bad = training_rows(120, seed=1).astype(object)
    bad.loc[3, "tenure"] = "three"
    write_batch(incoming, "0-initial.csv", bad)
    body = spec(incoming, model="attrition", deploy=None, automation="auto").to_json()
    client.apply_pipeline({**body, "name": "attrition-retrain"}, reason="weekly retrain")
    for n, name in enumerate(["", "1-more.csv"]):
        if name:
            write_batch(incoming, name, training_rows(60, seed=2))
        run_id = client.start_run("attrition-retrain", reason=f"run {n + 1}").id

        def finished(run_id: int = run_id) -> RunAnswer | None:
            run = client.get_run("attrition-retrain", run_id)
            return run if run.status in {"succeeded", "failed"} else None

        done = wait_for(f"run {run_id}", finished)
        assert done.status == "succeeded", done.error


def build_world(
    services: Services, model_folder: ModelFolders, tmp_path: Path, database_url: str | None
) -> World:
    admin = services.tokens.create("ops", ["admin"], actor="tests")[1]
    viewer = services.tokens.create("viewer", ["read"], actor="tests")[1]
    _register(services, model_folder, tmp_path)
    server = ServerProcess(services.settings.home, database_url, env=SERVER_ENV)
    server.start()
    try:
        return _populate(World(server, admin, viewer), tmp_path)
    except BaseException:
        server.stop()  # a world that failed to build leaves no server behind
        raise


def _populate(world: World, tmp_path: Path) -> World:
    rng = np.random.default_rng(0)
    with world.client() as client:
        ramp = {"steps": [0.5, 0.75, 1.0], "min_seconds": 0, "min_units": 5}
        client.set_experiment(
            "churn", "click_rate", guardrails=[], automation="approve", min_sample=10_000,
            ramp=ramp, reason="does the new scorer get more clicks?",
        )  # fmt: skip
        client.set_experiment("recs", "interleaving", min_sample=10_000, reason="which ranker?")
        _wave(client, 0, 0.0, rng)
        _rankings(client)
        _shadowed(client)
        client.put_alert_rule(
            "churn-drift", endpoint="churn", metric="drift_share", threshold=0.2, window="1h",
            severity="critical", description="inputs unlike the training data",
        )  # fmt: skip
        client.put_alert_rule(
            "churn-traffic", endpoint="churn", metric="predictions", threshold=0,
            window=f"{QUIET_SECONDS}s", cooldown="0s", description="any traffic lately",
        )  # fmt: skip
        time.sleep(WAVE_SECONDS)
        _wave(client, 60, 1.0, rng)
        last_wave = time.monotonic()
        opened = {(a.rule, a.state) for a in client.evaluate_alerts()}
        assert opened == {("churn-drift", "open"), ("churn-traffic", "open")}, opened
        wait_for("the controller's proposal", lambda: client.get_experiment("churn").pending)
        _pipeline(client, tmp_path / "incoming")
        time.sleep(max(0.0, last_wave + QUIET_SECONDS - time.monotonic()))
        resolved = {(a.rule, a.state) for a in client.evaluate_alerts()}
        assert resolved == {("churn-traffic", "resolved")}, resolved
    return world
