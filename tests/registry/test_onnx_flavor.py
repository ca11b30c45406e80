"""The onnx flavor: an .onnx file registered, hashed and served like any version."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import skops.io
import yaml
from fastapi.testclient import TestClient
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.linear_model import LinearRegression, LogisticRegression

from champion.errors import ArtifactTampered, InvalidInput, MissingExtra
from champion.registry.flavors.onnx import import_onnxruntime
from champion.services import Services
from champion.serving.runtime import Runtime
from champion.settings import Settings
from tests.registry.folders import pack
from tests.registry.tabular import churn_frame, churn_pipeline, onnx_folder, requests_of


def _upload(client: TestClient, folder: Path) -> int:
    response = client.post(
        "/v1/models/churn/versions",
        files={"file": ("v.tar.gz", pack(folder), "application/gzip")},
        data={"aliases": "champion"},
    )
    assert response.status_code == 201, response.text
    return int(response.json()["version"])


def test_an_onnx_pipeline_is_uploaded_and_answers_as_scikit_learn_does(
    client: TestClient, tmp_path: Path
) -> None:
    frame, label = churn_frame(400)
    pipeline = churn_pipeline(frame, label)
    # Uploaded without CHAMPION_ALLOW_CODE_UPLOADS: an ONNX graph carries no code.
    _upload(client, onnx_folder(tmp_path / "m", pipeline))
    body = {"policy": "single", "params": {"version": "churn@champion"}}
    assert client.put("/v1/endpoints/churn", json=body).status_code == 200
    test, _ = churn_frame(50, seed=1)
    response = client.post("/v1/endpoints/churn/predict", json={"instances": requests_of(test)})
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    expected = pipeline.predict_proba(test)
    served = np.array([[p["probabilities"]["0"], p["probabilities"]["1"]] for p in predictions])
    assert np.abs(served - expected).max() <= 1e-5
    # The labels are the classes themselves (from a tensor output: the column indices).
    assert [p["label"] for p in predictions] == pipeline.predict(test).tolist()


def test_a_single_matrix_input_takes_the_signature_in_order(
    services: Services, settings: Settings, tmp_path: Path
) -> None:
    x = np.random.default_rng(0).normal(size=(200, 3))
    for kind, estimator in (
        ("classifier", LogisticRegression().fit(x, (x[:, 0] - x[:, 2] > 0).astype(int))),
        ("regressor", LinearRegression().fit(x, 2 * x[:, 1] + 1)),
    ):
        folder = tmp_path / kind
        folder.mkdir()
        model = to_onnx(estimator, initial_types=[("features", FloatTensorType([None, 3]))])
        (folder / "model.onnx").write_bytes(model.SerializeToString())
        inputs = [{"name": n, "type": "number"} for n in ("a", "b", "c")]
        manifest = {"kind": kind, "flavor": "onnx", "file": "model.onnx"}
        manifest["signature"] = {"inputs": inputs}  # type: ignore[assignment]
        (folder / "champion.yaml").write_text(yaml.safe_dump(manifest))
        services.registry.register(folder, model=kind, actor="t")
    runtime = Runtime(services.registry, services.flavors, settings, settings.runtime_dir)
    rows = [{"a": float(r[0]), "b": float(r[1]), "c": float(r[2])} for r in x[:20]]
    classifier = runtime.get(services.registry.resolve("classifier/1").key).model
    probabilities = [o["probabilities"]["1"] for o in classifier.predict(rows)]
    assert classifier.pure_compute
    # A ZipMap output names the classes itself.
    assert np.abs(np.array(probabilities) - _proba(x[:20])).max() <= 1e-5
    regressor = runtime.get(services.registry.resolve("regressor/1").key).model
    values = regressor.predict(rows)
    assert np.abs(np.array(values) - (2 * x[:20, 1] + 1)).max() <= 1e-4
    runtime.close()


def _proba(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    rows = np.random.default_rng(0).normal(size=(200, 3))
    fitted = LogisticRegression().fit(rows, (rows[:, 0] - rows[:, 2] > 0).astype(int))
    probabilities: np.ndarray[Any, Any] = fitted.predict_proba(x)[:, 1]
    return probabilities


def test_a_tampered_onnx_file_is_refused_naming_it(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    frame, label = churn_frame(200)
    number = _upload(client, onnx_folder(tmp_path / "m", churn_pipeline(frame, label)))
    version = client.get(f"/v1/models/churn/versions/{number}").json()
    sha = version["files"]["model.onnx"]
    blob = settings.artifacts_dir / sha[:2] / sha
    data = bytearray(blob.read_bytes())
    data[-1] ^= 1
    blob.write_bytes(bytes(data))
    body = {"policy": "single", "params": {"version": "churn/1"}}
    # Pointing an endpoint at it loads it first: the change is refused, nothing is served.
    response = client.put("/v1/endpoints/churn", json=body)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == ArtifactTampered.__name__
    assert "churn/1 failed its sha256 check on file 'model.onnx'" in error["message"]


def test_graphs_the_signature_cannot_feed_are_refused_at_registration(
    services: Services, tmp_path: Path
) -> None:
    frame, label = churn_frame(200)
    pipeline = churn_pipeline(frame, label)
    renamed = onnx_folder(
        tmp_path / "renamed",
        pipeline,
        signature={"inputs": [{"name": "contract", "type": "string"}]},
    )
    with pytest.raises(InvalidInput, match=r"ONNX inputs \['tenure', 'charges'\] are not in"):
        services.registry.register(renamed, model="m", actor="t")
    broken = onnx_folder(tmp_path / "broken", pipeline)
    (broken / "model.onnx").write_bytes(b"not a graph")
    with pytest.raises(InvalidInput, match=r"'model\.onnx' is not a loadable ONNX model"):
        services.registry.register(broken, model="m", actor="t")
    skops_file = onnx_folder(tmp_path / "skops", pipeline, file="model.skops")
    skops.io.dump(pipeline, skops_file / "model.skops")
    with pytest.raises(InvalidInput, match=r"'model\.skops' is not a loadable ONNX model"):
        services.registry.register(skops_file, model="m", actor="t")
    assert services.registry.list_models() == []


def test_without_the_extra_the_error_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if not installed
    with pytest.raises(MissingExtra, match=r"pip install 'champion\[onnx\]'"):
        import_onnxruntime()
