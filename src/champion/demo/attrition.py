"""The attrition-risk classifier on IBM's Telco churn table, stored with skops."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import skops.io
import yaml
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, log_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from champion.artifacts import sha256_file

__all__ = [
    "ID",
    "TARGET",
    "Holdout",
    "attrition_pipeline",
    "load_telco",
    "write_attrition_classifier",
]

INTEGERS = ["SeniorCitizen", "tenure"]
NUMBERS = ["MonthlyCharges", "TotalCharges"]
TARGET = "Churn"
ID = "customerID"


@dataclass(frozen=True)
class Holdout:
    """Customers the model never saw: JSON-ready inputs, ids and true outcomes."""

    rows: list[dict[str, Any]]
    customer_ids: list[str]
    churned: list[int]


def load_telco(data_dir: Path) -> tuple[pd.DataFrame, Path]:
    path = data_dir / "telco-churn" / "Telco-Customer-Churn.csv"
    table = pd.read_csv(path)
    # 11 customers have a blank TotalCharges (new clients): missing, imputed by the pipeline.
    table["TotalCharges"] = pd.to_numeric(table["TotalCharges"].str.strip().replace("", None))
    return table, path


def write_attrition_classifier(
    data_dir: Path,
    folder: Path,
    code_version: str,
    seed: int = 0,
    estimator: Literal["logistic", "boosting"] = "logistic",
) -> Holdout:
    """Train, evaluate on a stratified holdout, write the version folder; return the holdout."""
    table, path = load_telco(data_dir)
    categoricals = [c for c in table.columns if c not in {*INTEGERS, *NUMBERS, TARGET, ID}]
    features = categoricals + INTEGERS + NUMBERS
    target = (table[TARGET] == "Yes").astype(int)
    train, test, y_train, y_test = train_test_split(
        table, target, test_size=0.2, stratify=target, random_state=seed
    )
    pipeline = attrition_pipeline(categoricals, INTEGERS + NUMBERS, estimator, seed)
    pipeline.fit(train[features], y_train)
    probability = pipeline.predict_proba(test[features])[:, 1]
    metrics = {
        "auc": round(float(roc_auc_score(y_test, probability)), 4),
        "log_loss": round(float(log_loss(y_test, probability)), 4),
        "f1": round(float(f1_score(y_test, probability >= 0.5)), 4),
    }
    folder.mkdir(parents=True, exist_ok=True)
    skops.io.dump(pipeline, folder / "model.skops")
    # The training rows, profiled at registration as the version's drift reference; their
    # outcomes (named by 'target') calibrate the scores for estimated performance.
    train[features].assign(**{TARGET: y_train}).to_parquet(
        folder / "reference.parquet", index=False
    )
    signature = (
        [{"name": c, "type": "string"} for c in categoricals]
        + [{"name": c, "type": "integer"} for c in INTEGERS]
        + [
            {"name": "MonthlyCharges", "type": "number"},
            {"name": "TotalCharges", "type": "number", "nullable": True},
        ]
    )
    manifest = {
        "kind": "classifier",
        "flavor": "sklearn",
        "file": "model.skops",
        "signature": {"inputs": signature},
        "target": TARGET,
        "lineage": {
            "trained_by": "champion-demo",
            "data": {
                "location": "data/telco-churn/Telco-Customer-Churn.csv",
                "fingerprint": "sha256:" + sha256_file(path),
                "rows": len(train),
            },
            "code_version": code_version,
            "params": {
                "estimator": type(pipeline[-1]).__name__,
                **{k: v for k, v in pipeline[-1].get_params().items() if k in _HYPER},
                "seed": seed,
                "holdout": "stratified 20 %",
            },
            "metrics": metrics,
            "description": f"Attrition risk ({estimator}): probability that a client leaves",
            "tags": {"dataset": "telco-churn", "team": "retention"},
        },
    }
    (folder / "champion.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    rows: list[dict[str, Any]] = [
        {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
        for row in test[features].astype(object).to_dict(orient="records")
    ]
    for row in rows:
        for column in INTEGERS:
            row[column] = int(row[column])
        for column in NUMBERS:
            row[column] = None if row[column] is None else float(row[column])
    return Holdout(rows, test[ID].tolist(), y_test.tolist())


_HYPER = {"C", "max_iter", "n_estimators", "max_depth", "learning_rate"}


def attrition_pipeline(
    categoricals: list[str], numbers: list[str], estimator: str, seed: int
) -> Pipeline:
    """One-hot categories, impute and scale numbers, then the estimator."""
    return Pipeline(
        [
            (
                "columns",
                ColumnTransformer(
                    [
                        ("categories", OneHotEncoder(handle_unknown="ignore"), categoricals),
                        (
                            "numbers",
                            Pipeline(
                                [
                                    ("impute", SimpleImputer(strategy="median")),
                                    ("scale", StandardScaler()),
                                ]
                            ),
                            numbers,
                        ),
                    ]
                ),
            ),
            ("model", _estimator(estimator, seed)),
        ]
    )


def _estimator(name: str, seed: int) -> Any:
    if name == "logistic":
        return LogisticRegression(max_iter=1000, C=1.0)
    return GradientBoostingClassifier(n_estimators=150, max_depth=3, random_state=seed)
