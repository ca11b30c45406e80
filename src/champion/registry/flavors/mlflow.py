"""The mlflow flavor: an MLflow model folder, called through ``mlflow.pyfunc`` (extra [mlflow]).

``file`` names the folder's ``MLmodel`` (``MLmodel`` at the top by default). A request's
instances become a DataFrame with the signature's columns, the pyfunc's ``predict`` answers,
and its answer is read per row: a classifier's rows of class probabilities (a
``predict_proba``) become the label and the probability of each class, as the sklearn flavor
answers (the classes are the scikit-learn model's ``classes_``, else the column indices); a
column of values stays one value per instance; a DataFrame gives one ``{column: value}`` per
row.

Loading an MLflow model deserialises what its author saved (a pickle, a cloudpickle of a
Python class, a skops file whose trusted types the folder lists itself) or runs their code,
so it is refused unless the server runs with ``CHAMPION_TRUST_PICKLE=true``, as plain pickles
are; over HTTP it is code, as a python-flavor version is (``CHAMPION_ALLOW_CODE_UPLOADS``).
Every path the ``MLmodel`` names for loading must be a file or folder of the version.
"""

from __future__ import annotations

import importlib.util
import os
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from champion.errors import InvalidInput, MissingExtra
from champion.registry.confinement import confined_file, confined_path
from champion.registry.flavors.base import Loaded, LoadOptions, RankedItem
from champion.registry.manifest import Manifest
from champion.registry.mlmodel import MLMODEL, mlmodel_paths, read_mlmodel
from champion.types import Instance, Json

__all__ = ["MlflowFlavor"]

# MLflow reads its permission to deserialise from the environment; loads take turns so that
# one load's permission is never another's.
_LOAD_LOCK = threading.Lock()
_MLFLOW_PERMISSION = "MLFLOW_ALLOW_PICKLE_DESERIALIZATION"


class MlflowFlavor:
    name = "mlflow"

    def check(self, folder: Path, manifest: Manifest, options: LoadOptions) -> None:
        if importlib.util.find_spec("mlflow") is None:
            raise MissingExtra(
                "The 'mlflow' flavor needs the mlflow extra: pip install 'champion[mlflow]'"
            )
        path = _mlmodel_file(folder, manifest)
        mlmodel = read_mlmodel(path)
        for field, value in mlmodel_paths(mlmodel):
            confined_path(path.parent, field, value, source=MLMODEL)
        if not options.trust_pickle:
            raise InvalidInput(
                f"{manifest.file or MLMODEL!r} is an MLflow model: loading it deserialises "
                "what its author saved (a pickle, a cloudpickle or a skops file whose trusted "
                "types it lists itself) or runs their code, which can do anything. Set "
                "CHAMPION_TRUST_PICKLE=true if you trust it, or save the model with skops "
                "and register it with the sklearn flavor."
            )

    def carries_code(self, manifest: Manifest) -> bool:
        return True  # MLflow's loader runs on what the model's author saved

    def load(self, folder: Path, manifest: Manifest, options: LoadOptions) -> Loaded:
        self.check(folder, manifest, options)
        path = _mlmodel_file(folder, manifest)
        with _mlflow_loading() as pyfunc:
            model = pyfunc.load_model(str(path.parent), suppress_warnings=True)
        return _MlflowLoaded(model, manifest)


def _mlmodel_file(folder: Path, manifest: Manifest) -> Path:
    path = confined_file(folder, "file", manifest.file or MLMODEL)
    if path.name != MLMODEL:
        raise InvalidInput(
            f"champion.yaml: the mlflow flavor's file {manifest.file!r} must name the model "
            f"folder's {MLMODEL} file, such as 'MLmodel' or 'model/MLmodel'."
        )
    return path


@contextmanager
def _mlflow_loading() -> Iterator[Any]:
    with _LOAD_LOCK, warnings.catch_warnings():
        # MLflow warns about its own type hints as it imports, and about the environment a
        # model was saved in as it loads: nothing a caller of champion can act on.
        warnings.filterwarnings("ignore", category=UserWarning, module=r"mlflow(\.|$)")
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"mlflow(\.|$)")
        import mlflow.pyfunc

        before = os.environ.get(_MLFLOW_PERMISSION)
        os.environ[_MLFLOW_PERMISSION] = "true"  # champion's own trust flag was checked
        try:
            yield mlflow.pyfunc
        finally:
            if before is None:
                os.environ.pop(_MLFLOW_PERMISSION, None)
            else:
                os.environ[_MLFLOW_PERMISSION] = before


class _MlflowLoaded:
    pure_compute = False  # a pyfunc may be the author's code: it may read, call or sleep

    def __init__(self, model: Any, manifest: Manifest) -> None:
        self.model = model
        self.manifest = manifest
        self.columns = [spec.name for spec in manifest.signature.inputs] or None
        self.classifier = manifest.kind == "classifier"
        try:
            raw = model.get_raw_model()
        except (NotImplementedError, AttributeError):
            raw = None
        self.classes: list[Json] | None = (
            [_plain(c) for c in raw.classes_] if hasattr(raw, "classes_") else None
        )

    def predict(self, instances: Sequence[Instance]) -> list[Json]:
        import numpy as np
        import pandas as pd

        frame = pd.DataFrame.from_records(list(instances), columns=self.columns)
        answer = self.model.predict(frame)
        if isinstance(answer, pd.DataFrame):
            if answer.shape[1] != 1 or self.classifier:
                records = answer.to_dict(orient="records")
                rows: list[Json] = [{str(k): _plain(v) for k, v in r.items()} for r in records]
                return self._checked(rows, instances)
            answer = answer.iloc[:, 0]
        values = np.asarray(answer)
        if values.ndim == 2 and values.shape[1] == 1:
            values = values[:, 0]
        if values.ndim == 2 and self.classifier and values.dtype.kind == "f":
            return self._checked(self._probabilities(values.tolist()), instances)
        return self._checked([_plain(v) for v in values.tolist()], instances)

    def _probabilities(self, rows: list[list[float]]) -> list[Json]:
        width = len(rows[0]) if rows else 0
        classes = self.classes if self.classes and len(self.classes) == width else None
        names: list[Json] = classes or list(range(width))
        outputs: list[Json] = []
        for row in rows:
            best = max(range(len(row)), key=row.__getitem__)
            outputs.append(
                {
                    "label": names[best],
                    "probabilities": dict(zip(map(str, names), row, strict=True)),
                }
            )
        return outputs

    def _checked(self, outputs: list[Json], instances: Sequence[Instance]) -> list[Json]:
        if len(outputs) != len(instances):
            raise ValueError(
                f"The MLflow model answered {len(outputs)} rows for {len(instances)} instances."
            )
        return outputs

    def rank(self, unit: str | None, context: dict[str, Any], k: int) -> list[RankedItem]:
        raise InvalidInput("mlflow versions are classifiers or regressors; they cannot rank.")


def _plain(value: Any) -> Json:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:  # NaN: JSON has no such number
        return None
    return value
