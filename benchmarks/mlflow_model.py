"""Save the fitted benchmark model as an MLflow model folder; runs with benchmarks/.venv.

It loads build/champion_model/model.skops (written by make_model.py), so MLflow serves the very
same fitted model. The pyfunc answers predict_proba, like champion and the bare endpoint, and
the signature makes MLflow check the 20 named columns as champion checks its inputs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import mlflow.sklearn
import skops.io
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema

BUILD = Path(__file__).parent / "build"
FEATURES = [f"f{i}" for i in range(20)]


def main() -> None:
    source = BUILD / "champion_model" / "model.skops"
    model = skops.io.load(source, trusted=skops.io.get_untrusted_types(file=source))
    target = BUILD / "mlflow_model"
    shutil.rmtree(target, ignore_errors=True)
    mlflow.sklearn.save_model(
        model,
        target,
        serialization_format="skops",
        pyfunc_predict_fn="predict_proba",
        signature=ModelSignature(inputs=Schema([ColSpec("double", f) for f in FEATURES])),
    )


if __name__ == "__main__":
    main()
