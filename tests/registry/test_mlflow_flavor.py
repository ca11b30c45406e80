"""The mlflow flavor: MLflow model folders registered as they were saved, and served."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import sklearn
import yaml
from fastapi.testclient import TestClient

from champion import Client
from champion.api import create_app
from champion.client.operations import pack as client_pack
from champion.errors import Forbidden, InvalidInput
from champion.services import Services
from champion.settings import Settings
from tests.conftest import local_client
from tests.registry.folders import pack
from tests.registry.mlflow_models import churn_score, save_pyfunc, save_sklearn
from tests.registry.tabular import churn_frame, churn_pipeline, requests_of

ONE_DATABASE = (
    "Reading an MLflow folder does not depend on the database (and each load costs seconds); "
    "the registry's storage is tested on both databases in test_service.py."
)


@pytest.fixture
def trusting(settings: Settings) -> Settings:
    return settings.model_copy(update={"trust_pickle": True, "allow_code_uploads": True})


@pytest.fixture
def trusting_client(trusting: Settings) -> Iterator[TestClient]:
    with local_client(create_app(trusting)) as test_client:
        yield test_client


def _predict(client: TestClient, model: str, instances: list[dict[str, object]]) -> list[object]:
    body = {"policy": "single", "params": {"version": f"{model}@champion"}}
    assert client.put(f"/v1/endpoints/{model}", json=body).status_code == 200
    response = client.post(f"/v1/endpoints/{model}/predict", json={"instances": instances})
    assert response.status_code == 200, response.text
    predictions: list[object] = response.json()["predictions"]
    return predictions


def test_an_mlflow_sklearn_model_is_uploaded_as_saved_and_answers_as_scikit_learn_does(
    trusting_client: TestClient, tmp_path: Path
) -> None:
    frame, label = churn_frame(300)
    pipeline = churn_pipeline(frame, label)
    folder = save_sklearn(tmp_path / "m", pipeline, frame, serialization_format="cloudpickle")
    response = trusting_client.post(
        "/v1/models/churn/versions",
        # Packed as the client packs it: an MLflow folder needs no champion.yaml.
        files={"file": ("m.tar.gz", client_pack(folder), "application/gzip")},
        data={"aliases": "champion"},
    )
    assert response.status_code == 201, response.text
    version = trusting_client.get("/v1/models/churn/versions/1").json()
    assert (version["kind"], version["flavor"]) == ("classifier", "mlflow")
    # MLflow's signature is champion's: the request is checked against it.
    assert version["signature"]["inputs"] == [
        {"name": "contract", "type": "string", "nullable": False, "description": ""},
        {"name": "tenure", "type": "integer", "nullable": False, "description": ""},
        # MLflow saw missing charges: not required, so nullable.
        {"name": "charges", "type": "number", "nullable": True, "description": ""},
    ]
    lineage = version["lineage"]
    assert (lineage["params"], lineage["metrics"]) == ({"C": 1.0}, {"auc": 0.81})
    assert lineage["packages"]["scikit-learn"] == sklearn.__version__
    assert lineage["tags"]["mlflow_flavors"] == "python_function,sklearn"
    # Every file MLflow wrote is part of the version, hashed.
    assert {"MLmodel", "model.pkl", "requirements.txt", "champion.yaml"} <= set(version["files"])
    test, _ = churn_frame(40, seed=1)
    predictions = _predict(trusting_client, "churn", requests_of(test))
    served = np.array([[p["probabilities"]["0"], p["probabilities"]["1"]] for p in predictions])  # type: ignore[index]
    assert np.abs(served - pipeline.predict_proba(test)).max() <= 1e-12
    assert [p["label"] for p in predictions] == pipeline.predict(test).tolist()  # type: ignore[index]
    with (
        pytest.raises(InvalidInput, match="model: give a model name"),
        Client("http://127.0.0.1:9") as client,
    ):
        client.register(folder)  # refused before anything is sent
    bad = trusting_client.post(
        "/v1/endpoints/churn/predict", json={"instances": [{"contract": "a", "tenure": "x"}]}
    )
    assert bad.status_code == 422


def test_a_custom_pyfunc_answers_through_http(
    trusting: Settings, trusting_client: TestClient, tmp_path: Path
) -> None:
    frame, _ = churn_frame(100)
    folder = save_pyfunc(tmp_path / "score", frame)
    services = Services.open(trusting)
    try:
        version = services.registry.register(
            folder, model="score", actor="t", aliases_to_set=("champion",)
        )
    finally:
        services.close()
    assert (version.kind, version.flavor) == ("regressor", "mlflow")
    assert not (folder / "champion.yaml").exists()  # the user's folder is left as it was
    test, _ = churn_frame(30, seed=2)
    predictions = _predict(trusting_client, "score", requests_of(test))
    assert np.allclose(predictions, churn_score(test).to_numpy(), rtol=0, atol=1e-12)  # type: ignore[arg-type]


def test_an_mlflow_model_loads_only_behind_the_trust_flag(
    services: Services, client: TestClient, tmp_path: Path
) -> None:
    frame, label = churn_frame(100)
    pipeline = churn_pipeline(frame, label)
    folder = save_sklearn(tmp_path / "m", pipeline, frame, serialization_format="skops")
    with pytest.raises(InvalidInput, match="CHAMPION_TRUST_PICKLE=true") as refused:
        services.registry.register(folder, model="churn", actor="t")
    assert "'MLmodel' is an MLflow model: loading it deserialises" in str(refused.value)
    # Over HTTP it is code, as a python-flavor version is: refused before it is looked at.
    response = client.post(
        "/v1/models/churn/versions",
        files={"file": ("m.tar.gz", pack(folder), "application/gzip")},
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == Forbidden.__name__


def test_paths_of_mlmodel_stay_inside_the_version(trusting: Settings, tmp_path: Path) -> None:
    frame, _ = churn_frame(50)
    folder = save_pyfunc(tmp_path / "score", frame)
    (tmp_path / "outside.pkl").write_bytes(b"not hashed")
    mlmodel = yaml.safe_load((folder / "MLmodel").read_text())
    mlmodel["flavors"]["python_function"]["python_model"] = "../outside.pkl"
    (folder / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    services = Services.open(trusting)
    try:
        with pytest.raises(
            InvalidInput,
            match=r"MLmodel: flavors\.python_function\.python_model '\.\./outside\.pkl' must be "
            "a relative path",
        ):
            services.registry.register(folder, model="score", actor="t")
    finally:
        services.close()


def test_a_champion_yaml_states_what_mlmodel_cannot_and_the_rest_is_read_from_it(
    trusting: Settings, tmp_path: Path
) -> None:
    frame, _ = churn_frame(50)
    folder = save_pyfunc(tmp_path / "score", frame)
    mlmodel = yaml.safe_load((folder / "MLmodel").read_text())
    del mlmodel["signature"]["outputs"]
    mlmodel["run_id"] = "4f1c2e"  # as a model logged under a run has it
    (folder / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    services = Services.open(trusting)
    try:
        with pytest.raises(InvalidInput, match="does not say whether the model is a classifier"):
            services.registry.register(folder, model="score", actor="t")
        (folder / "champion.yaml").write_text("kind: regressor\nflavor: mlflow\n")
        version = services.registry.register(folder, model="score", actor="t")
    finally:
        services.close()
    inputs = version.manifest["signature"]["inputs"]
    assert [(f["name"], f["type"]) for f in inputs] == [
        ("contract", "string"),
        ("tenure", "integer"),
        ("charges", "number"),
    ]
    assert version.lineage["trained_by"] == "mlflow"
    tags = version.lineage["tags"]
    assert tags["mlflow_run_id"] == "4f1c2e" and tags["mlflow_version"] == mlmodel["mlflow_version"]
