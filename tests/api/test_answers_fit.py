"""The answers the server builds by hand (reports, predict, rank, OIP) are exactly the
models the document declares, on real data: FastAPI checks the others as it answers."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from pydantic import BaseModel

from champion.answers import (
    DriftTimelineAnswer,
    ExperimentReport,
    InferAnswer,
    InterleavingAnswer,
    ModelMetadata,
    PlanAnswer,
    PredictAnswer,
    RankAnswer,
    StatsAnswer,
    TimelineAnswer,
)
from champion.services import Services
from tests.api.test_experiments import _canary, _second_version, _serve
from tests.conftest import ModelFolders

ROW = {"tenure": 3, "charges": 12.5, "contract": "Month-to-month"}


def _fits(model: type[BaseModel], response: Any) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    # Exact: the model refuses a field it does not know and one that is missing.
    assert model.model_validate(body).model_dump(mode="json", exclude_unset=True) == body
    return body


def test_the_hand_built_answers_are_their_models(
    served: Services, client: TestClient, model_folder: ModelFolders
) -> None:
    _second_version(served, model_folder)
    _canary(client, "churn@champion", "churn@challenger", 0.5)
    before = client.put("/v1/endpoints/churn/experiment", json={"goal": "click_rate"})
    assert {arm["units"] for arm in _fits(ExperimentReport, before)["arms"]} == {0}
    ids = _serve(client, 40)
    clicks = [{"request_id": i, "kind": "click"} for i in ids[::3]]
    assert client.post("/v1/feedback/batch", json={"events": clicks}).is_success

    report = _fits(ExperimentReport, client.get("/v1/endpoints/churn/experiment"))
    assert {arm["arm"] for arm in report["arms"]} == {"champion", "challenger"}
    assert report["regime"]["step"] == 1 and report["decision"]["decision"] == "continue"
    _fits(TimelineAnswer, client.get("/v1/endpoints/churn/experiment/timeline?points=3"))
    plan = "/v1/endpoints/churn/experiment/plan?goal=click_rate&mde=0.1&method=delta"
    _fits(PlanAnswer, client.get(plan))
    predicted = _fits(
        PredictAnswer, client.post("/v1/endpoints/churn/predict", json={"instances": [ROW]})
    )
    assert predicted["arm"] in {"champion", "challenger"}
    stats = client.get("/v1/endpoints/churn/stats?start=2000-01-01T00:00:00Z&buckets=2")
    _fits(StatsAnswer, stats)

    ranked = _fits(RankAnswer, client.post("/v1/endpoints/recs/rank", json={"k": 2}))
    assert (ranked["arm"], ranked["fallback_from"]) == ("champion", None)
    _fits(InterleavingAnswer, client.get("/v1/endpoints/recs/interleaving"))
    # A ranker has no reference: no columns, and a message that says why.
    timeline = _fits(DriftTimelineAnswer, client.get("/v1/endpoints/recs/drift/timeline"))
    assert timeline["columns"] == [] and timeline["message"]

    _fits(ModelMetadata, client.get("/v2/models/churn"))
    inputs = [
        {"name": "tenure", "datatype": "INT64", "shape": [1], "data": [3]},
        {"name": "charges", "datatype": "FP64", "shape": [1], "data": [12.5]},
        {"name": "contract", "datatype": "BYTES", "shape": [1], "data": ["Two year"]},
    ]
    _fits(InferAnswer, client.post("/v2/models/churn/infer", json={"inputs": inputs}))
