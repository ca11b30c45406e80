"""Real training entry points for the pipeline tests, and the data they learn from."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import skops.io
import yaml
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from champion.automation import PipelineSpec, TrainingJob

SCHEMA = [
    {"name": "tenure", "type": "integer"},
    {"name": "charges", "type": "number", "nullable": True},
    {"name": "plan", "type": "string"},
    {"name": "churned", "type": "integer"},
]
INPUTS = [
    {"name": "tenure", "type": "integer"},
    {"name": "charges", "type": "number", "nullable": True},
    {"name": "plan", "type": "string"},
]


def customers(n: int, seed: int) -> pd.DataFrame:
    """Customers who leave more when tenure is short and charges high (seeded)."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, n)
    charges = rng.normal(70, 20, n).round(2)
    plan = rng.choice(["monthly", "yearly", "two_year"], n, p=[0.5, 0.3, 0.2])
    logit = 1.5 - 0.06 * tenure + 0.03 * (charges - 70) + (plan == "monthly") * 1.0
    churned = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"tenure": tenure, "charges": charges, "plan": plan, "churned": churned})


def write_batch(folder: Path, name: str, frame: pd.DataFrame) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    frame.to_csv(path, index=False)
    return path


def spec(incoming: Path, **changes: object) -> PipelineSpec:
    raw: dict[str, object] = {
        "name": "churn-retrain",
        "model": "churn",
        "source": {"name": "customers", "path": str(incoming)},
        "schema": SCHEMA,
        "target": "churned",
        "train": {"entry": "tests.automation.trainers:train_logistic", "params": {"C": 1.0}},
        "holdout": {"strategy": "random", "share": 0.3, "seed": 0},
        "metrics": ["auc", "log_loss"],
        "gates": [
            {"metric": "auc", "at_least": 0.6},
            {"not_worse_than": "champion", "test": "paired_bootstrap", "metric": "auc",
             "n_resamples": 100},
        ],
        "deploy": {"endpoint": "churn", "policy": "canary", "share": 0.2},
        "automation": "auto",
        "min_rows": 20,
    }  # fmt: skip
    raw.update(changes)
    return PipelineSpec.model_validate(raw)


def train_logistic(job: TrainingJob) -> Path:
    model = Pipeline(
        [
            (
                "columns",
                ColumnTransformer(
                    [
                        ("plan", OneHotEncoder(handle_unknown="ignore"), ["plan"]),
                        ("numbers", SimpleImputer(strategy="median"), ["tenure", "charges"]),
                    ]
                ),
            ),
            ("model", LogisticRegression(C=float(job.params.get("C", 1.0)), max_iter=500)),
        ]
    )
    model.fit(job.data[job.features], job.data[job.target])
    skops.io.dump(model, job.folder / "model.skops")
    manifest = {
        "kind": "classifier",
        "flavor": "sklearn",
        "file": "model.skops",
        "signature": {"inputs": INPUTS},
        "lineage": {"description": f"logistic on {len(job.data)} rows"},
    }
    (job.folder / "champion.yaml").write_text(yaml.safe_dump(manifest))
    return job.folder


def train_raises(job: TrainingJob) -> Path:
    raise RuntimeError("the training cluster is on fire")


AFTER_TRAINING: list[Callable[[], None]] = []
"""What train_then_hook does once the model is written (a fault test puts its fault here)."""


def train_then_hook(job: TrainingJob) -> Path:
    folder = train_logistic(job)
    while AFTER_TRAINING:
        AFTER_TRAINING.pop()()
    return folder
