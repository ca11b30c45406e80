"""champion.save_model and Client.log_model: from a fitted estimator to a served version."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from champion import Client, save_model
from champion.errors import InvalidInput
from champion.settings import Settings
from tests.conftest import LiveServer
from tests.registry.tabular import SIGNATURE, churn_frame, churn_pipeline, requests_of


def test_save_model_writes_a_folder_that_registers_and_predicts_as_the_estimator(
    settings: Settings, live_server: LiveServer, tmp_path: Path
) -> None:
    frame, label = churn_frame(300)
    pipeline = churn_pipeline(frame, label)
    folder = save_model(
        pipeline,
        tmp_path / "v1",
        example=frame.head(20),
        reference=frame,
        name="churn",
        lineage={"trained_by": "ana", "metrics": {"auc": 0.8}},
    )
    manifest = yaml.safe_load((folder / "champion.yaml").read_text())
    # The signature is the frame's: a missing value makes a field nullable.
    assert manifest["signature"]["inputs"] == SIGNATURE
    assert (manifest["name"], manifest["kind"], manifest["flavor"]) == (
        "churn",
        "classifier",
        "sklearn",
    )
    assert len(pd.read_parquet(folder / "reference.parquet")) == 300
    test, _ = churn_frame(30, seed=5)
    with Client(live_server.url) as client:
        assert client.register(folder).version == 1
        logged = client.log_model(
            pipeline, model="churn", example=frame, aliases=["champion"], reason="logged"
        )
        assert (logged.version, logged.aliases) == (2, ["champion"])
        assert logged.lineage["packages"]["scikit-learn"]
        client.set_endpoint("churn", "single", {"version": "churn@champion"})
        answer = client.predict("churn", requests_of(test))
    served = np.array(
        [[p["probabilities"]["0"], p["probabilities"]["1"]] for p in answer.predictions]
    )
    assert np.abs(served - pipeline.predict_proba(test)).max() <= 1e-12
    assert [p["label"] for p in answer.predictions] == pipeline.predict(test).tolist()


def test_save_model_refuses_what_it_cannot_describe(tmp_path: Path) -> None:
    frame, label = churn_frame(50)
    pipeline = churn_pipeline(frame, label)
    used = tmp_path / "used"
    used.mkdir()
    (used / "notes.txt").write_text("x")
    with pytest.raises(InvalidInput, match=r"folder: .* already exists and is not an empty"):
        save_model(pipeline, used, example=frame)
    with pytest.raises(InvalidInput, match="example: must be a pandas DataFrame, got list"):
        save_model(pipeline, tmp_path / "a", example=[[1, 2]])  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="example: column 'when' has dtype 'datetime64"):
        save_model(pipeline, tmp_path / "b", example=frame.assign(when=pd.Timestamp(0)))
    with pytest.raises(InvalidInput, match=r"reference: lacks the example's columns \['tenure'\]"):
        save_model(pipeline, tmp_path / "c", example=frame, reference=frame.drop(columns="tenure"))
    with pytest.raises(InvalidInput, match="kind: Input should be"):
        save_model(pipeline, tmp_path / "d", example=frame, kind="clasifier")  # type: ignore[arg-type]
    assert not any((tmp_path / n).exists() for n in "abcd")
