"""A small tabular classifier as users train them: a Pipeline over a DataFrame with strings,
integers and a number with missing values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

CONTRACTS = ["Month-to-month", "One year", "Two year"]


def churn_frame(rows: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray[Any, Any]]:
    """Inputs and a label that depends on all of them (seeded)."""
    rng = np.random.default_rng(seed)
    contract = rng.choice(CONTRACTS, size=rows)
    tenure = rng.integers(0, 72, size=rows)
    charges = rng.normal(70, 20, size=rows)
    charges[rng.random(rows) < 0.05] = np.nan
    logit = -0.04 * tenure + 0.02 * np.nan_to_num(charges, nan=70) + (contract == CONTRACTS[0])
    label = (rng.random(rows) < 1 / (1 + np.exp(-(logit - 1)))).astype(int)
    frame = pd.DataFrame({"contract": contract, "tenure": tenure, "charges": charges})
    return frame, label


def churn_pipeline(frame: pd.DataFrame, label: np.ndarray[Any, Any]) -> Pipeline:
    columns = ColumnTransformer(
        [
            ("categories", OneHotEncoder(handle_unknown="ignore"), ["contract"]),
            (
                "numbers",
                make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                ["tenure", "charges"],
            ),
        ]
    )
    return Pipeline([("columns", columns), ("model", LogisticRegression())]).fit(frame, label)


SIGNATURE = [
    {"name": "contract", "type": "string"},
    {"name": "tenure", "type": "integer"},
    {"name": "charges", "type": "number", "nullable": True},
]


def requests_of(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The frame's rows as a client sends them (a missing number is null)."""
    rows = frame.astype(object).to_dict(orient="records")
    return [
        {
            "contract": str(row["contract"]),
            "tenure": int(row["tenure"]),
            "charges": None if np.isnan(row["charges"]) else float(row["charges"]),
        }
        for row in rows
    ]


def onnx_folder(folder: Path, pipeline: Pipeline, **fields: Any) -> Path:
    """``pipeline`` converted by skl2onnx (one input per column, probabilities as a tensor)
    into ``folder/model.onnx`` with an onnx-flavor champion.yaml."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    folder.mkdir(parents=True)
    types = [
        ("contract", StringTensorType([None, 1])),
        ("tenure", FloatTensorType([None, 1])),
        ("charges", FloatTensorType([None, 1])),
    ]
    model = to_onnx(pipeline, initial_types=types, options={id(pipeline[-1]): {"zipmap": False}})
    (folder / "model.onnx").write_bytes(model.SerializeToString())
    manifest = {
        "kind": "classifier",
        "flavor": "onnx",
        "file": "model.onnx",
        "signature": {"inputs": SIGNATURE},
        **fields,
    }
    (folder / "champion.yaml").write_text(yaml.safe_dump(manifest))
    return folder
