"""Estimated performance through HTTP: a labelled reference, covariate shift, concept drift."""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from fastapi.testclient import TestClient

from champion.clock import FixedClock
from champion.services import Services
from champion.settings import Settings
from tests.conftest import ModelFolders
from tests.drift.traffic import clocked, customers, outcomes, register_labelled_scorer, serve

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture
def labelled(
    settings: Settings, model_folder: ModelFolders
) -> Iterator[tuple[TestClient, FixedClock]]:
    with clocked(
        settings, NOW, lambda s: register_labelled_scorer(s, model_folder, customers(3000, seed=1))
    ) as pair:
        yield pair


def send_labels(client: TestClient, ids: list[str], labels: np.ndarray) -> None:
    events = [
        {"request_id": rid, "kind": "label", "label": int(label)}
        for rid, label in zip(ids, labels, strict=True)
    ]
    for start in range(0, len(events), 500):
        response = client.post("/v1/feedback/batch", json={"events": events[start : start + 500]})
        assert response.status_code == 201, response.text


def test_estimate_follows_covariate_shift_and_concept_drift_is_flagged(
    labelled: tuple[TestClient, FixedClock],
) -> None:
    client, clock = labelled
    # Hour 1: newer customers (covariate shift), outcomes still follow the scores.
    shifted = customers(800, seed=2, shift=1.0)
    clock.at = NOW - timedelta(minutes=150)
    send_labels(client, serve(client, shifted, batch=1), outcomes(shifted, seed=2))
    # Hour 2: the same customers, but month-to-month ones now behave the other way round.
    drifted = customers(800, seed=3, shift=1.0)
    clock.at = NOW - timedelta(minutes=90)
    truth = outcomes(drifted, seed=3)
    monthly = drifted["contract"].to_numpy() == "month"
    send_labels(client, serve(client, drifted, batch=1), np.where(monthly, 1 - truth, truth))
    # Hour 3: served, no label yet: the estimate alone.
    clock.at = NOW - timedelta(minutes=30)
    serve(client, customers(300, seed=4, shift=1.0))
    clock.at = NOW
    response = client.get(
        "/v1/endpoints/churn/performance/estimated",
        params={"start": (NOW - timedelta(hours=3)).isoformat(), "end": NOW.isoformat()},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["version"] == "churn/1"
    assert body["reference"]["label"] == "churned" and body["reference"]["rows"] == 3000
    shift, concept, unlabelled = body["buckets"]
    assert (shift["predictions"], shift["labelled"]) == (800, 800)
    for name in ("accuracy", "auc"):
        realised, expected = shift["realised"][name], shift["expected_on_labelled"][name]
        assert abs(realised - expected["value"]) < 0.05, name
        assert expected["low"] <= realised <= expected["high"], name
    assert shift["flagged"] == [], shift
    # The estimate cannot see the flip; the labels can.
    for name in ("accuracy", "auc"):
        assert abs(concept["estimated"][name]["value"] - shift["estimated"][name]["value"]) < 0.05
        assert concept["realised"][name] < concept["expected_on_labelled"][name]["low"]
    assert {"accuracy", "auc"} <= set(concept["flagged"])
    assert unlabelled["labelled"] == 0 and unlabelled["realised"]["auc"] is None
    assert unlabelled["estimated"]["auc"]["value"] is not None
    assert unlabelled["flagged"] == [] and unlabelled["expected_on_labelled"] is None


def test_estimation_without_a_labelled_reference_says_how_to_add_one(
    services: Services, model_folder: ModelFolders, client: TestClient
) -> None:
    services.registry.register(model_folder("scorer"), model="churn", actor="tests")
    services.endpoints.set("churn", "single", {"version": "churn/1"}, actor="tests")
    serve(client, customers(20, seed=5))
    response = client.get("/v1/endpoints/churn/performance/estimated", params={"window": "1h"})
    assert response.status_code == 404
    assert "--label COLUMN" in response.json()["error"]["message"]
    frame = customers(400, seed=6)
    data = frame.assign(churned=outcomes(frame, seed=6)).to_csv(index=False).encode()
    response = client.put(
        "/v1/models/churn/versions/1/reference",
        files={"file": ("train.csv", io.BytesIO(data), "text/csv")},
        data={"label": "churned"},
    )
    assert response.status_code == 200, response.text
    body = client.get(
        "/v1/endpoints/churn/performance/estimated", params={"window": "1h", "bucket": "1h"}
    ).json()
    assert body["reference"]["rows"] == 400 and body["overall"]["predictions"] == 20
    assert math.isfinite(body["overall"]["estimated"]["accuracy"]["value"])


def test_a_bad_label_column_is_refused_naming_it(
    services: Services, model_folder: ModelFolders, client: TestClient
) -> None:
    services.registry.register(model_folder("scorer"), model="churn", actor="tests")
    frame = customers(200, seed=7)
    for column, values, expected in (
        ("churned", None, "no label column 'churned'"),
        ("churned", ["yes"] * 200, "holds ['yes'], which the model never answers"),
    ):
        data = frame if values is None else frame.assign(churned=values)
        response = client.put(
            "/v1/models/churn/versions/1/reference",
            files={"file": ("t.csv", io.BytesIO(data.to_csv(index=False).encode()), "text/csv")},
            data={"label": column, "replace": "true"},
        )
        assert response.status_code == 422 and expected in response.text, response.text
