"""MLflow model folders saved by MLflow itself: a scikit-learn Pipeline and a custom pyfunc."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.pipeline import Pipeline

from tests.fixtures.environment import cannot


@contextmanager
def quiet_mlflow() -> Iterator[Any]:
    """``mlflow``, imported and used without its own advice (type hints, input examples)
    turning into errors under the suite's warnings-as-errors; skipped without the extra."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module=r"mlflow(\.|$)")
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"mlflow(\.|$)")
        try:
            import mlflow.pyfunc
            import mlflow.sklearn
        except ImportError:
            cannot("the mlflow extra is not installed: pip install 'champion[mlflow]'")
        yield mlflow


def save_sklearn(
    folder: Path, pipeline: Pipeline, frame: pd.DataFrame, *, serialization_format: str
) -> Path:
    """``pipeline`` saved by ``mlflow.sklearn.save_model``, answering ``predict_proba``, with
    params and metrics in its metadata."""
    with quiet_mlflow() as mlflow:
        from mlflow.models import infer_signature

        signature = infer_signature(frame, pipeline.predict_proba(frame))
        mlflow.sklearn.save_model(
            pipeline,
            folder,
            serialization_format=serialization_format,
            # The pipeline's imputer holds a NumPy dtype, which skops does not trust unasked.
            skops_trusted_types=["numpy.dtype"] if serialization_format == "skops" else None,
            pyfunc_predict_fn="predict_proba",
            signature=signature,
            metadata={"params": {"C": 1.0}, "metrics": {"auc": 0.81}, "team": "retention"},
        )
    return folder


def churn_score(model_input: pd.DataFrame) -> pd.Series:
    """What the custom pyfunc answers: a rule over the DataFrame, one score a row."""
    charges = model_input["charges"].fillna(70.0)
    bonus = (model_input["contract"] == "Month-to-month").astype(float)
    score: pd.Series = charges / 100 - model_input["tenure"] / 72 + bonus
    return score.rename("score")


def save_pyfunc(folder: Path, frame: pd.DataFrame) -> Path:
    """A custom pyfunc saved by ``mlflow.pyfunc.save_model(python_model=...)``: its class,
    defined here as in a notebook, is cloudpickled by value into the folder."""
    with quiet_mlflow() as mlflow:
        from mlflow.models import infer_signature

        python_model: Any = mlflow.pyfunc.PythonModel

        class ChurnScore(python_model):  # type: ignore[misc]  # mlflow's classes are untyped
            def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> Any:
                charges = model_input["charges"].fillna(70.0)
                bonus = (model_input["contract"] == "Month-to-month").astype(float)
                return (charges / 100 - model_input["tenure"] / 72 + bonus).rename("score")

        signature = infer_signature(frame, churn_score(frame))
        mlflow.pyfunc.save_model(folder, python_model=ChurnScore(), signature=signature)
    return folder
