from __future__ import annotations

from pathlib import Path

from champion.registry.flavors import default_flavors
from champion.registry.mlmodel import adopt_mlflow_folder
from champion.settings import Settings
from champion.testing import check_flavor
from tests.conftest import ModelFolders
from tests.registry.folders import ROW, sklearn_folder
from tests.registry.mlflow_models import save_sklearn
from tests.registry.tabular import churn_frame, churn_pipeline, onnx_folder, requests_of


def test_every_built_in_flavor_keeps_the_contract(
    tmp_path: Path, model_folder: ModelFolders
) -> None:
    flavors = default_flavors()
    # An MLflow model loads only behind the trust flag; the others do not read it.
    options = Settings(home=tmp_path / "home", trust_pickle=True)
    frame, label = churn_frame(200)
    mlflow_model = save_sklearn(
        tmp_path / "mlflow-saved", churn_pipeline(frame, label), frame, serialization_format="skops"
    )
    cases = {
        "sklearn": (sklearn_folder(tmp_path / "sklearn"), [ROW, {"tenure": -1.0, "charges": 3.0}]),
        "onnx": (
            onnx_folder(tmp_path / "onnx", churn_pipeline(frame, label)),
            requests_of(frame[:5]),
        ),
        "python": (model_folder("constant"), [{"tenure": 3, "charges": 1.0, "contract": "a"}]),
        "mlflow": (
            adopt_mlflow_folder(mlflow_model, tmp_path / "mlflow"),
            requests_of(frame[:5]),
        ),
    }
    assert sorted(cases) == sorted(flavors.names())
    for name, (folder, instances) in cases.items():
        check_flavor(flavors.get(name), folder, instances, options)
