"""Registry.compile: a scikit-learn version becomes an ONNX one only where both agree."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.semi_supervised import LabelSpreading

from champion import save_model
from champion.errors import InvalidInput
from champion.services import Services
from champion.serving.runtime import Runtime
from champion.settings import Settings
from tests.conftest import ModelFolders
from tests.registry.tabular import churn_frame, churn_pipeline, requests_of


def _registered(services: Services, tmp_path: Path, rows: int = 300) -> Pipeline:
    frame, label = churn_frame(rows)
    pipeline = churn_pipeline(frame, label)
    services.registry.register(
        save_model(pipeline, tmp_path / "saved", example=frame), model="churn", actor="t"
    )
    return pipeline


def test_a_supported_pipeline_compiles_to_a_new_version_that_answers_alike(
    services: Services, settings: Settings, tmp_path: Path
) -> None:
    pipeline = _registered(services, tmp_path)
    result = services.registry.compile("churn/1", actor="ana", aliases_to_set=("fast",))
    assert result.compiled, result.reason
    assert result.version is not None
    version = result.version
    assert (version.key.number, version.flavor, version.aliases) == (2, "onnx", ("fast",))
    assert {"model.onnx", "model.skops", "reference.parquet"} <= set(version.files)
    derived = version.lineage["derived_from"]
    assert (derived["version"], derived["file"]) == ("churn/1", "model.skops")
    assert (derived["rows"], derived["probes"]) == (300, 300)
    assert derived["method"].startswith("skl2onnx ")
    assert derived["max_difference"] == result.max_difference
    assert 0 <= derived["max_difference"] <= derived["tolerance"] == 1e-5
    assert "onnxruntime" in version.lineage["packages"]
    # What is served is what was compared: fresh rows, through the runtime.
    runtime = Runtime(services.registry, services.flavors, settings, settings.runtime_dir)
    test, _ = churn_frame(200, seed=7)
    outputs = runtime.get(version.key).model.predict(requests_of(test))
    served = np.array([[o["probabilities"]["0"], o["probabilities"]["1"]] for o in outputs])
    assert np.abs(served - pipeline.predict_proba(test)).max() <= 1e-5
    assert [o["label"] for o in outputs] == pipeline.predict(test).tolist()
    runtime.close()


def test_an_unsupported_pipeline_is_refused_with_the_reason(
    services: Services, tmp_path: Path
) -> None:
    frame, label = churn_frame(100)
    columns = ColumnTransformer(
        [
            ("categories", OneHotEncoder(), ["contract"]),
            ("numbers", SimpleImputer(), ["tenure", "charges"]),
        ]
    )
    pipeline = Pipeline([("columns", columns), ("model", LabelSpreading())]).fit(frame, label)
    folder = save_model(pipeline, tmp_path / "saved", example=frame)
    services.registry.register(folder, model="churn", actor="t")
    result = services.registry.compile("churn/1", actor="t")
    assert not result.compiled and result.version is None
    assert result.reason.startswith("skl2onnx cannot convert it:")
    assert "LabelSpreading" in result.reason
    assert services.registry.get_model("churn").version_count == 1


def test_outputs_that_differ_beyond_the_tolerance_are_refused(
    services: Services, tmp_path: Path
) -> None:
    _registered(services, tmp_path)
    # ONNX computes in float32: its probabilities differ from float64 ones by ~1e-7, not 0.
    result = services.registry.compile("churn/1", actor="t", tolerance=0.0)
    assert not result.compiled and result.version is None
    assert result.rows == 300
    assert "disagree on 300 rows and 300 probes between their values: a probability differs by" in (
        result.reason
    )
    assert "more than the tolerance 0" in result.reason
    assert services.registry.get_model("churn").version_count == 1


def test_a_tree_model_is_refused_where_a_probe_sits_on_one_of_its_splits(
    services: Services, tmp_path: Path
) -> None:
    frame, label = churn_frame(1000)
    pipeline = churn_pipeline(frame, label)
    pipeline.steps[-1] = ("model", GradientBoostingClassifier(n_estimators=30, random_state=0))
    folder = save_model(pipeline.fit(frame, label), tmp_path / "trees", example=frame)
    services.registry.register(folder, model="trees", actor="t")
    result = services.registry.compile("trees/1", actor="t")
    # ONNX trees compare float32 inputs: on a split, rounding sends a row the other way. The
    # training rows never sit on one; the probes between their values do.
    assert not result.compiled
    assert "on 1000 rows and 1000 probes between their values: probe " in result.reason
    assert "label 0 instead of 1" in result.reason or "label 1 instead of 0" in result.reason


def test_rows_come_from_the_reference_or_a_given_sample(
    services: Services, model_folder: ModelFolders, tmp_path: Path
) -> None:
    pipeline = _registered(services, tmp_path, rows=1500)
    big = services.registry.compile("churn/1", actor="t")
    assert big.rows == 1000  # a seeded sample of a larger reference
    frame, _ = churn_frame(50, seed=3)
    folder = tmp_path / "bare"
    save_model(pipeline, folder, example=frame)
    (folder / "reference.parquet").unlink()
    services.registry.register(folder, model="bare", actor="t")
    with pytest.raises(InvalidInput, match="sample: the version has no reference data file"):
        services.registry.compile("bare/1", actor="t")
    assert services.registry.compile("bare/1", actor="t", sample=frame).rows == 50
    with pytest.raises(InvalidInput, match=r"sample: lacks the signature's columns \['tenure'\]"):
        services.registry.compile("bare/1", actor="t", sample=frame.drop(columns="tenure"))
    with pytest.raises(InvalidInput, match="tolerance: must be a finite number >= 0"):
        services.registry.compile("bare/1", actor="t", tolerance=-1.0)
    services.registry.register(model_folder("constant"), model="python", actor="t")
    refused = services.registry.compile("python/1", actor="t")
    assert refused.reason == "its flavor is 'python'; only sklearn versions compile."
