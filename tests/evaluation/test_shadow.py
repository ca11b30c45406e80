"""The shadow challenger in /stats: what it scored, how often it agrees, latency, labels."""

from __future__ import annotations

import math
import time

import numpy as np
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sklearn.metrics import accuracy_score, roc_auc_score

from champion.events.tables import predictions, shadow_predictions
from champion.services import Services
from tests.conftest import ModelFolders, wait_until_written
from tests.drift.traffic import customers, rows


def _risk(tenure: int, midpoint: float) -> float:
    return 1.0 / (1.0 + math.exp((tenure - midpoint) / 8.0))


def _shadowed(services: Services, model_folder: ModelFolders) -> None:
    services.registry.register(model_folder("scorer"), model="churn", actor="t")
    later = model_folder("scorer")  # a challenger whose risk falls later in tenure
    code = (later / "scorer.py").read_text()
    (later / "scorer.py").write_text(code.replace("- 24.0", "- 30.0"))
    services.registry.register(later, model="churn", actor="t")
    params = {"champion": "churn/1", "challenger": "churn/2"}
    services.endpoints.set("churn", "shadow", params, actor="t")


def _wait_for_shadows(services: Services, count: int) -> None:
    deadline = time.monotonic() + 10
    while True:
        with services.engine.connect() as conn:
            query = sa.select(sa.func.count()).select_from(shadow_predictions)
            if conn.execute(query).scalar_one() >= count or time.monotonic() > deadline:
                return
        time.sleep(0.05)


def _nearest_rank(values: list[float], q: float) -> float:
    return float(np.percentile(values, 100 * q, method="inverted_cdf"))


def test_stats_show_the_shadow_beside_the_version_that_served(
    services: Services, model_folder: ModelFolders, client: TestClient
) -> None:
    _shadowed(services, model_folder)
    served = rows(customers(120, seed=3))
    ids = []
    for i, row in enumerate(served):
        answer = client.post(
            "/v1/endpoints/churn/predict", json={"unit": f"c{i}", "instances": [row]}
        )
        ids.append(answer.json()["request_id"])
    wait_until_written(client)
    _wait_for_shadows(services, len(served))
    # Labels for the first 80 requests: churned when tenure is short, with some noise.
    rng = np.random.default_rng(0)
    truth = [
        int(r["tenure"] < 27) if rng.random() < 0.85 else int(r["tenure"] >= 27) for r in served
    ]
    events = [
        {"request_id": rid, "kind": "label", "label": label}
        for rid, label in list(zip(ids, truth, strict=True))[:80]
    ]
    assert client.post("/v1/feedback/batch", json={"events": events}).status_code == 201

    body = client.get("/v1/endpoints/churn/stats").json()
    assert [(v["version"], v["arm"], v["requests"]) for v in body["versions"]] == [
        (1, "champion", 120)
    ]
    [shadow] = body["shadows"]
    assert (shadow["model"], shadow["version"], shadow["served_version"]) == ("churn", 2, 1)
    assert (shadow["requests"], shadow["errors"], shadow["outputs_compared"]) == (120, 0, 120)

    champion = [_risk(r["tenure"], 24.0) for r in served]
    challenger = [_risk(r["tenure"], 30.0) for r in served]
    agree = np.mean([(a >= 0.5) == (b >= 0.5) for a, b in zip(champion, challenger, strict=True)])
    assert 0 < agree < 1 and shadow["agreement"] == agree
    assert math.isclose(
        shadow["mean_abs_difference"],
        np.mean(np.abs(np.subtract(champion, challenger))),
        rel_tol=1e-12,
    )
    y = truth[:80]
    assert shadow["labels"] == 80
    for key, scores in (("served_metrics", champion[:80]), ("metrics", challenger[:80])):
        assert math.isclose(shadow[key]["auc"], roc_auc_score(y, scores), rel_tol=1e-12)
        predicted = [int(s >= 0.5) for s in scores]
        assert math.isclose(shadow[key]["accuracy"], accuracy_score(y, predicted))

    with services.engine.connect() as conn:
        shadow_ms = list(conn.execute(sa.select(shadow_predictions.c.latency_ms)).scalars())
        served_ms = list(conn.execute(sa.select(predictions.c.latency_ms)).scalars())
    assert shadow["latency_p50_ms"] == _nearest_rank(shadow_ms, 0.5)
    assert shadow["latency_p99_ms"] == _nearest_rank(shadow_ms, 0.99)
    assert shadow["served_latency_p50_ms"] == _nearest_rank(served_ms, 0.5)
    assert shadow["served_latency_p99_ms"] == _nearest_rank(served_ms, 0.99)


def test_an_endpoint_without_shadow_has_none(served: Services, client: TestClient) -> None:
    assert client.get("/v1/endpoints/churn/stats").json()["shadows"] == []
