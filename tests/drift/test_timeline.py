"""Drift over time: one drift run per window, the same as asking for each window alone."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from champion.api import create_app
from champion.clock import FixedClock
from champion.drift.timeline import drift_timeline
from champion.errors import InvalidInput
from champion.events.tables import predictions
from champion.registry import VersionKey
from champion.services import Services
from champion.settings import Settings
from tests.conftest import ModelFolders, local_client
from tests.drift.traffic import customers, register_scorer, serve

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


class Clocked:
    def __init__(self, services: Services, client: TestClient, clock: FixedClock) -> None:
        self.services, self.client, self.clock = services, client, clock

    def serve_at(self, hours_ago: float, rows: int, seed: int, shift: float = 0.0) -> None:
        self.clock.at = NOW - timedelta(hours=hours_ago)
        serve(self.client, customers(rows, seed=seed, shift=shift))

    def timeline(self, **params: Any) -> Any:
        self.clock.at = NOW
        return self.client.get("/v1/endpoints/churn/drift/timeline", params=params)


@pytest.fixture
def clocked(settings: Settings, model_folder: ModelFolders) -> Iterator[Clocked]:
    clock = FixedClock(NOW)
    services = Services.open(settings, clock)
    register_scorer(services, model_folder, customers(3000, seed=1))
    with local_client(create_app(settings, clock)) as client:
        yield Clocked(services, client, clock)
    services.close()


def test_each_window_is_the_drift_run_of_that_window(clocked: Clocked) -> None:
    clocked.serve_at(3.5, 300, seed=2)
    clocked.serve_at(1.5, 300, seed=3, shift=1.0)  # newer customers: drift
    clocked.serve_at(0.5, 300, seed=4)
    response = clocked.timeline(window="1h", buckets=4)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["version"], body["message"], body["window_seconds"]) == ("churn/1", "", 3600)
    assert [b["rows"] for b in body["buckets"]] == [300, 0, 300, 300]
    assert body["buckets"][1]["share_drifted"] is None
    columns = {c["column"]: c for c in body["columns"]}
    assert list(columns)[:3] == ["tenure", "charges", "contract"]
    assert (columns["tenure"]["role"], columns["output.label"]["role"]) == ("input", "output")
    drifted = {
        name: [cell and cell["drifted"] for cell in c["cells"]] for name, c in columns.items()
    }
    for name in ("tenure", "charges", "contract"):
        assert drifted[name] == [False, None, True, False], name

    # Every cell is what GET /drift says about that window alone.
    for bucket, window in zip(body["buckets"], range(4), strict=True):
        if not bucket["rows"]:
            continue
        alone = clocked.client.get(
            "/v1/endpoints/churn/drift", params={"start": bucket["start"], "end": bucket["end"]}
        ).json()
        assert alone["share_drifted"] == bucket["share_drifted"]
        for column in alone["columns"]:
            cell = columns[column["column"]]["cells"][window]
            for key in ("method", "statistic", "p_value", "p_adjusted", "drifted", "severity"):
                assert cell[key] == column[key], (window, column["column"], key)


def test_distributions_are_the_reference_and_the_window_on_the_same_bins(
    clocked: Clocked,
) -> None:
    clocked.serve_at(0.5, 400, seed=5, shift=1.0)
    body = clocked.timeline(window="30m", buckets=2).json()
    reference = clocked.services.references.get(VersionKey("churn", 1)).profile
    columns = {c["column"]: c for c in body["columns"]}

    tenure = columns["tenure"]["distribution"]
    profile = reference.column("tenure")
    assert profile.bin_edges is not None and profile.bin_counts is not None
    assert tenure["edges"] == profile.bin_edges.tolist()
    assert tenure["reference"] == profile.bin_counts.tolist()
    assert tenure["current"][0] is None
    served = customers(400, seed=5, shift=1.0)["tenure"].to_numpy(dtype=float)
    expected = np.bincount(np.searchsorted(profile.bin_edges, served, side="right"),
                           minlength=len(profile.bin_edges) + 1)  # fmt: skip
    assert tenure["current"][1] == expected.tolist()

    contract = columns["contract"]["distribution"]
    assert contract["categories"] == ["month", "one_year", "two_year"]  # by reference count
    frequencies = reference.column("contract").frequencies or {}
    assert contract["reference"] == [frequencies[c] for c in contract["categories"]]
    counts = customers(400, seed=5, shift=1.0)["contract"].value_counts()
    assert contract["current"][1] == [int(counts[c]) for c in contract["categories"]]


def test_nothing_to_compare_is_an_empty_timeline_that_says_why(
    clocked: Clocked, model_folder: ModelFolders
) -> None:
    empty = clocked.timeline(window="1h", buckets=3).json()
    assert empty["columns"] == [] and empty["buckets"] == []
    assert "served no prediction" in empty["message"]
    services = clocked.services
    services.registry.register(model_folder("constant"), model="plain", actor="t")
    services.endpoints.set("plain", "single", {"version": "plain/1"}, actor="t")
    row = {"tenure": 3, "charges": 12.5, "contract": "month"}
    clocked.clock.at = NOW - timedelta(minutes=1)
    assert clocked.client.post("/v1/endpoints/plain/predict", json={"instances": [row]}).is_success
    clocked.clock.at = NOW
    deadline = time.monotonic() + 10
    while True:  # until the event writer has written the prediction
        found = drift_timeline(services.drift, "plain", window="1h", buckets=2)
        if "served no prediction" not in found.message or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert found.runs == () and "plain/1 has no reference profile" in found.message


def test_bad_parameters_are_4xx_naming_them(clocked: Clocked) -> None:
    assert clocked.timeline(buckets=0).status_code == 422
    wrong = clocked.timeline(window="soon")
    assert wrong.status_code == 422 and "'window'" in wrong.json()["error"]["message"]
    missing = clocked.client.get("/v1/endpoints/nope/drift/timeline")
    assert missing.status_code == 404 and "Unknown endpoint 'nope'" in missing.text
    with pytest.raises(InvalidInput, match=r"'buckets' parameter .* \[1, 96\]\. Got 97"):
        drift_timeline(clocked.services.drift, "churn", buckets=97)


def test_the_version_serving_now_is_judged_after_a_promotion(
    clocked: Clocked, model_folder: ModelFolders
) -> None:
    """churn/1 answered most of the window; once churn/2 is promoted the timeline judges
    churn/2's reference by default, and names the other versions one may choose."""
    services, client = clocked.services, clocked.client
    services.registry.register(model_folder("scorer"), model="churn", actor="t")  # churn/2
    clocked.serve_at(2.5, 400, seed=2)  # churn/1 alone
    canary = {"champion": "churn/1", "challenger": "churn/2", "share": 0.5}
    assert client.put("/v1/endpoints/churn", json={"policy": "canary", "params": canary}).is_success
    assert client.put("/v1/endpoints/churn/experiment", json={"goal": "click_rate"}).is_success
    promoted = client.post("/v1/endpoints/churn/experiment/promote", json={"reason": "better"})
    assert promoted.status_code == 200, promoted.text
    clocked.serve_at(1.5, 60, seed=3)
    assert (_rows_of(services, 1), _rows_of(services, 2)) == (400, 60)

    endpoint = client.get("/v1/endpoints/churn").json()
    assert (endpoint["live"], endpoint["kind"]) == ("churn/2", "classifier")
    body = clocked.timeline(window="1h", buckets=4).json()
    assert (body["version"], body["version_basis"], body["reference"]["rows"]) == (
        "churn/2", "live", 3000
    )  # fmt: skip
    assert sum(b["rows"] for b in body["buckets"]) == _rows_of(services, 2)
    choices = {c["version"]: c for c in body["versions"]}
    assert choices["churn/2"]["live"] and not choices["churn/1"]["live"]
    assert choices["churn/1"]["configured"]  # blue_green keeps the previous champion loaded
    assert choices["churn/1"]["has_reference"] and choices["churn/2"]["has_reference"]
    chosen = clocked.timeline(window="1h", buckets=4, version="churn/1").json()
    assert (chosen["version"], chosen["version_basis"]) == ("churn/1", "requested")
    assert sum(b["rows"] for b in chosen["buckets"]) == _rows_of(services, 1)
    drift = client.get("/v1/endpoints/churn/drift", params={"window": "4h"}).json()
    assert (drift["version"], drift["version_basis"]) == ("churn/2", "live")


def _rows_of(services: Services, number: int) -> int:
    """Instances (rows) that version churn/``number`` answered."""
    with services.engine.connect() as conn:
        query = sa.select(predictions.c.inputs).where(predictions.c.version == number)
        return sum(len(inputs) for inputs in conn.execute(query).scalars())
