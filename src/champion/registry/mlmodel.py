"""MLflow model folders as champion versions: the ``MLmodel`` file read without MLflow.

An MLflow model folder describes itself in ``MLmodel`` (YAML): its flavors, the files each
loads, its signature (named columns with MLflow types), the run it was logged from and any
``metadata`` its author gave. Registering such a folder needs no champion.yaml: one is written
from ``MLmodel`` (`adopt_mlflow_folder`): the signature becomes champion's, the run id, model
uuid and MLflow version become tags of the lineage, ``metadata: {params: …, metrics: …}``
its params and metrics, and ``requirements.txt`` the packages it was trained with. A
champion.yaml of flavor ``mlflow`` written by hand (to state the kind, say) is completed the
same way where it says nothing (`with_mlmodel`).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import stat
from pathlib import Path
from typing import Any

import yaml

from champion.errors import InvalidInput
from champion.registry.confinement import SKIPPED_DIRS, confined_file
from champion.registry.manifest import MANIFEST, FieldSpec, Manifest, parse_manifest

__all__ = [
    "MLMODEL",
    "adopt_mlflow_folder",
    "infer_kind",
    "is_mlflow_folder",
    "mlmodel_paths",
    "read_mlmodel",
    "signature_fields",
    "with_mlmodel",
]

MLMODEL = "MLmodel"

# MLflow's column types as champion's field types; the others have no JSON column to carry them.
_TYPES = {
    "double": "number",
    "float": "number",
    "integer": "integer",
    "long": "integer",
    "string": "string",
    "boolean": "boolean",
    "datetime": "string",
}
_LABEL_TYPES = {"integer", "long", "string", "boolean"}
_LABEL_DTYPES = ("int", "uint", "bool", "str", "object")


def read_mlmodel(path: Path) -> dict[str, Any]:
    """The content of an ``MLmodel`` file, or the error that says what is wrong with it."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{MLMODEL} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("flavors"), dict):
        raise InvalidInput(f"{MLMODEL} must be a mapping with 'flavors', as MLflow writes it.")
    if not isinstance(raw["flavors"].get("python_function"), dict):
        raise InvalidInput(
            f"{MLMODEL} has no python_function flavor (it has "
            f"{', '.join(map(str, raw['flavors'])) or 'none'}): champion calls MLflow models "
            "through pyfunc."
        )
    return raw


def _schema(mlmodel: dict[str, Any], part: str) -> list[dict[str, Any]]:
    signature = mlmodel.get("signature") or {}
    text = signature.get(part) if isinstance(signature, dict) else None
    if not text:
        return []
    try:
        specs = json.loads(text) if isinstance(text, str) else text
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{MLMODEL}: signature.{part} is not valid JSON: {exc}") from None
    if not isinstance(specs, list) or not all(isinstance(s, dict) for s in specs):
        raise InvalidInput(f"{MLMODEL}: signature.{part} must be a list of column specs.")
    return specs


def signature_fields(mlmodel: dict[str, Any], part: str) -> list[FieldSpec]:
    """MLflow's ``signature.inputs`` (or ``outputs``) as champion's fields.

    Inputs must be named columns of a type JSON carries; unnamed or tensor outputs are left
    out (champion's output fields only describe).
    """
    fields = []
    for index, spec in enumerate(_schema(mlmodel, part)):
        kind, name = spec.get("type"), spec.get("name")
        if kind in _TYPES and isinstance(name, str) and name:
            nullable = spec.get("required") is False
            fields.append(FieldSpec(name=name, type=_TYPES[kind], nullable=nullable))
        elif part == "inputs":
            shown = name if isinstance(name, str) else f"#{index}"
            raise InvalidInput(
                f"{MLMODEL}: signature input {shown!r} has type {kind!r}; champion serves named "
                f"columns of the types {', '.join(sorted(_TYPES))}."
            )
    return fields


def infer_kind(mlmodel: dict[str, Any]) -> str:
    """``classifier`` or ``regressor``, from the pyfunc's predict function and output signature.

    >>> infer_kind({"flavors": {"python_function": {"predict_fn": "predict_proba"}}})
    'classifier'
    >>> infer_kind({"flavors": {"python_function": {}},
    ...             "signature": {"outputs": '[{"type": "double", "name": "price"}]'}})
    'regressor'
    """
    if mlmodel["flavors"]["python_function"].get("predict_fn") == "predict_proba":
        return "classifier"
    outputs = _schema(mlmodel, "outputs")
    if len(outputs) == 1:
        spec = outputs[0]
        if spec.get("type") == "tensor":
            tensor = spec.get("tensor-spec") or {}
            dtype, shape = str(tensor.get("dtype", "")), list(tensor.get("shape") or [])
            if len(shape) == 2 and shape[1] not in (1, -1) and not dtype.startswith(_LABEL_DTYPES):
                return "classifier"  # one probability per class
            if len(shape) <= 2 and (len(shape) < 2 or shape[1] == 1):
                return "classifier" if dtype.startswith(_LABEL_DTYPES) else "regressor"
        elif spec.get("type") in _LABEL_TYPES:
            return "classifier"
        elif spec.get("type") in {"double", "float"}:
            return "regressor"
    raise InvalidInput(
        f"{MLMODEL}: its output signature ({json.dumps(outputs) if outputs else 'none'}) does not "
        "say whether the model is a classifier or a regressor. Add a champion.yaml beside "
        f"{MLMODEL} with 'kind: classifier' (or regressor) and 'flavor: mlflow'; its signature "
        "and lineage are then read from MLmodel."
    )


def _lineage(folder: Path, mlmodel: dict[str, Any]) -> dict[str, Any]:
    tags = {
        key if key.startswith("mlflow_") else f"mlflow_{key}": str(mlmodel[key])
        for key in ("run_id", "model_id", "model_uuid", "artifact_path", "mlflow_version")
        if mlmodel.get(key)
    }
    tags["mlflow_flavors"] = ",".join(sorted(map(str, mlmodel["flavors"])))
    metadata = _mapping(mlmodel.get("metadata"))
    params = _mapping(metadata.get("params"))
    metrics = {
        str(name): float(value)
        for name, value in _mapping(metadata.get("metrics")).items()
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    }
    lineage: dict[str, Any] = {
        "trained_by": "mlflow",
        "params": params,
        "metrics": metrics,
        "tags": tags,
        "packages": _requirements(folder, mlmodel),
    }
    if isinstance(metadata.get("description"), str):
        lineage["description"] = metadata["description"]
    return lineage


def _mapping(value: Any) -> dict[str, Any]:
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else {}


def _requirements(folder: Path, mlmodel: dict[str, Any]) -> dict[str, str]:
    """``name==version`` lines of the model's requirements.txt, and its Python version."""
    packages = {}
    python = mlmodel["flavors"]["python_function"].get("python_version")
    if python:
        packages["python"] = str(python)
    path = folder / "requirements.txt"
    if path.is_file() and not path.is_symlink():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            name, sep, version = line.split("#")[0].strip().partition("==")
            if sep and name and version:
                packages[name.strip()] = version.strip()
    return packages


def with_mlmodel(folder: Path, manifest: Manifest) -> Manifest:
    """``manifest`` (flavor ``mlflow``) completed from its ``MLmodel`` where it says nothing:
    the signature, and the lineage's params, metrics, packages and MLflow tags."""
    path = confined_file(folder, "file", manifest.file or MLMODEL)
    mlmodel = read_mlmodel(path)
    data = manifest.to_json()
    if not manifest.signature.inputs:
        data["signature"] = {
            "inputs": [f.model_dump() for f in signature_fields(mlmodel, "inputs")],
            "outputs": data["signature"].get("outputs")
            or [f.model_dump() for f in signature_fields(mlmodel, "outputs")],
        }
    lineage = data["lineage"]
    found = _lineage(path.parent, mlmodel)
    for key, value in found.items():
        if not lineage.get(key):
            lineage[key] = value
    lineage["tags"] = found["tags"] | manifest.lineage.tags
    return parse_manifest(data)


def adopt_mlflow_folder(source: Path, destination: Path) -> Path:
    """Copy the MLflow model folder ``source`` to ``destination`` with a champion.yaml.

    The copy keeps links as links, so registration refuses them as it refuses them anywhere.
    """
    mlmodel = read_mlmodel(source / MLMODEL)
    for root, folders, files in os.walk(source):  # links to folders are not followed
        for name in folders + files:
            # A pipe or device would block or never end the copy; version_files refuses
            # them (and links) in the copy as anywhere.
            path = Path(root) / name
            mode = path.lstat().st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
                relative = path.relative_to(source).as_posix()
                raise InvalidInput(
                    f"{relative!r} is not a regular file; a version folder holds regular files "
                    "only."
                )
    base = parse_manifest({"kind": infer_kind(mlmodel), "flavor": "mlflow", "file": MLMODEL})
    shutil.copytree(
        source, destination, symlinks=True, ignore=shutil.ignore_patterns(*SKIPPED_DIRS)
    )
    manifest = with_mlmodel(destination, base)
    (destination / MANIFEST).write_text(yaml.safe_dump(manifest.to_json(), sort_keys=False))
    return destination


def is_mlflow_folder(folder: Path) -> bool:
    """True for a folder with an ``MLmodel`` file and no champion.yaml."""
    return (folder / MLMODEL).is_file() and not (folder / MANIFEST).exists()


def mlmodel_paths(mlmodel: dict[str, Any]) -> list[tuple[str, str]]:
    """``(field, path)`` of every file or folder the MLmodel's flavors name for loading."""
    found: list[tuple[str, str]] = []
    for flavor, conf in mlmodel["flavors"].items():
        if not isinstance(conf, dict):
            continue
        for key in ("model_path", "data", "code", "python_model", "pickled_model"):
            value = conf.get(key)
            if isinstance(value, str) and value:
                found.append((f"flavors.{flavor}.{key}", value))
        artifacts = conf.get("artifacts")
        if isinstance(artifacts, dict):
            for name, entry in artifacts.items():
                path = entry.get("path") if isinstance(entry, dict) else None
                if isinstance(path, str) and path:
                    found.append((f"flavors.{flavor}.artifacts.{name}", path))
    return found
