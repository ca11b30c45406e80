"""The onnx flavor: a model in an ``.onnx`` file, run by onnxruntime on the CPU.

Inputs are mapped by name: a graph input named after a signature field gets that field as a
one-column tensor (what skl2onnx builds for a ColumnTransformer over a DataFrame); a graph
with a single input named after none of them gets every signature field, in signature order,
as one matrix. Classifier outputs read as the sklearn flavor's: the label and the probability
of each class. The classes come from the model's ``classes`` metadata (JSON, written by
``champion models compile``), from a ZipMap output's keys, or else are the column indices.

An ONNX graph holds operators and weights, no Python: loading one runs no code that came with
the version. One session per loaded version, one intra-op and one inter-op thread unless
``CHAMPION_ONNX_THREADS`` says otherwise: the server already runs one call per request.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from champion.errors import InvalidInput, MissingExtra
from champion.registry.confinement import confined_file
from champion.registry.flavors.base import Loaded, LoadOptions, RankedItem
from champion.registry.manifest import Manifest
from champion.types import Instance, Json

__all__ = ["CLASSES_METADATA", "OnnxFlavor"]

CLASSES_METADATA = "classes"
"""The model metadata key holding the classes of a classifier's probability columns (JSON)."""

_NUMERIC = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(bool)": "bool",
}


def import_onnxruntime() -> Any:
    """onnxruntime, or the error that names the extra to install."""
    try:
        import onnxruntime
    except ImportError:
        raise MissingExtra(
            "The 'onnx' flavor needs the onnx extra: pip install 'champion[onnx]'"
        ) from None
    return onnxruntime


class OnnxFlavor:
    name = "onnx"

    def check(self, folder: Path, manifest: Manifest, options: LoadOptions) -> None:
        path = _model_file(folder, manifest)
        session = _session(path, manifest, threads=1)
        _InputMap(session, manifest)  # refuses a graph whose inputs the signature cannot fill

    def carries_code(self, manifest: Manifest) -> bool:
        return False  # operators and weights only

    def load(self, folder: Path, manifest: Manifest, options: LoadOptions) -> Loaded:
        path = _model_file(folder, manifest)
        threads = int(getattr(options, "onnx_threads", 1))
        session = _session(path, manifest, threads=threads)
        return _OnnxLoaded(session, manifest)


def _model_file(folder: Path, manifest: Manifest) -> Path:
    if not manifest.file:
        raise InvalidInput("champion.yaml: the onnx flavor needs 'file: model.onnx'.")
    return confined_file(folder, "file", manifest.file)


def _session(path: Path, manifest: Manifest, *, threads: int) -> Any:
    ort = import_onnxruntime()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = threads
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise InvalidInput(f"{manifest.file!r} is not a loadable ONNX model: {exc}") from None


class _InputMap:
    """How a batch of instances becomes the graph's input tensors."""

    def __init__(self, session: Any, manifest: Manifest) -> None:
        self.columns = [spec.name for spec in manifest.signature.inputs]
        graph_inputs = session.get_inputs()
        names = [i.name for i in graph_inputs]
        self.types = {i.name: i.type for i in graph_inputs}
        for graph_input in graph_inputs:
            if graph_input.type != "tensor(string)" and graph_input.type not in _NUMERIC:
                raise InvalidInput(
                    f"ONNX input {graph_input.name!r} has type {graph_input.type!r}; the onnx "
                    f"flavor feeds tensor(string) and {', '.join(sorted(_NUMERIC))}."
                )
        self.matrix: str | None = None
        if len(names) == 1 and names[0] not in self.columns:
            self.matrix = names[0]
            if self.types[names[0]] == "tensor(string)" or not self.columns:
                raise InvalidInput(
                    f"ONNX input {names[0]!r} is a single matrix: the signature must list its "
                    "numeric columns in order."
                )
            return
        missing = [n for n in names if n not in self.columns]
        if missing:
            raise InvalidInput(
                f"ONNX inputs {missing!r} are not in the signature's inputs "
                f"({', '.join(self.columns) or 'none'}); name signature fields after the graph's "
                "inputs, or give the graph one matrix input."
            )
        self.names = names

    def feed(self, instances: Sequence[Instance]) -> dict[str, Any]:
        import numpy as np

        if self.matrix is not None:
            dtype = _NUMERIC[self.types[self.matrix]]
            rows = [[_number(row.get(c)) for c in self.columns] for row in instances]
            return {self.matrix: np.array(rows, dtype=dtype).reshape(len(instances), -1)}
        feed: dict[str, Any] = {}
        for name in self.names:
            values = [row.get(name) for row in instances]
            kind = self.types[name]
            if kind == "tensor(string)":
                column = np.array(["" if v is None else str(v) for v in values], dtype=object)
            else:
                column = np.array([_number(v) for v in values], dtype=_NUMERIC[kind])
            feed[name] = column.reshape(-1, 1)
        return feed


def _number(value: Any) -> float:
    # A null number is NaN, which skl2onnx's imputers replace as scikit-learn's do.
    return float("nan") if value is None else float(value)


class _OnnxLoaded:
    pure_compute = True  # onnxruntime computes; it reads no file and waits on nothing

    def __init__(self, session: Any, manifest: Manifest) -> None:
        self.session = session
        self.manifest = manifest
        self.inputs = _InputMap(session, manifest)
        outputs = session.get_outputs()
        self.output_names = [o.name for o in outputs]
        self.classifier = manifest.kind == "classifier"
        self.probability_index = _probability_output(outputs) if self.classifier else None
        metadata = session.get_modelmeta().custom_metadata_map
        self.classes: list[Json] | None = (
            json.loads(metadata[CLASSES_METADATA]) if CLASSES_METADATA in metadata else None
        )

    def predict(self, instances: Sequence[Instance]) -> list[Json]:
        results = self.session.run(None, self.inputs.feed(instances))
        if self.probability_index is None:
            values = results[0].reshape(len(instances), -1)[:, 0]
            return [float(v) for v in values.tolist()]
        probabilities = results[self.probability_index]
        if isinstance(probabilities, list):  # a ZipMap: one {class: probability} per row
            rows = [list(entry.values()) for entry in probabilities]
            classes = self.classes or (list(probabilities[0]) if probabilities else [])
        else:
            rows = probabilities.tolist()
            classes = self.classes or list(range(len(rows[0]) if rows else 0))
        outputs: list[Json] = []
        for row in rows:
            best = max(range(len(row)), key=row.__getitem__)
            outputs.append(
                {
                    "label": classes[best],
                    "probabilities": dict(zip(map(str, classes), map(float, row), strict=True)),
                }
            )
        return outputs

    def rank(self, unit: str | None, context: dict[str, Any], k: int) -> list[RankedItem]:
        raise InvalidInput("onnx versions are classifiers or regressors; they cannot rank.")


def _probability_output(outputs: Sequence[Any]) -> int:
    for index, output in enumerate(outputs):
        if output.name in {"probabilities", "output_probability"}:
            return index
    # skl2onnx and most converters put the label first and the probabilities second.
    return 1 if len(outputs) > 1 else 0
