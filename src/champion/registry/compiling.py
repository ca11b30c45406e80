"""Compiling a scikit-learn version to ONNX, accepted only where both answer alike.

skl2onnx converts the estimator; then champion's own sklearn and onnx flavors answer the same
rows (the version's reference data, or a sample the caller gives, and as many probes: those
rows with one number moved between two of the data's values, where trees split) and the
compiled model is accepted only if every label is equal and no probability (or regressed
value) differs by more than the tolerance. The folder then gains ``model.onnx`` and a
manifest of flavor ``onnx`` whose lineage names the file it was derived from and the largest
difference seen. Anything else leaves the folder as it was and says why.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from champion.errors import InvalidInput, MissingExtra
from champion.registry.flavors.base import LoadOptions
from champion.registry.flavors.onnx import CLASSES_METADATA, OnnxFlavor
from champion.registry.flavors.sklearn import SklearnFlavor
from champion.registry.manifest import (
    MANIFEST,
    Derivation,
    Manifest,
    find_reference_file,
    read_manifest,
)
from champion.registry.packages import installed_versions
from champion.registry.signature import SignatureChecker
from champion.types import Json

if TYPE_CHECKING:
    import pandas as pd

    from champion.registry.entities import Version

__all__ = ["COMPILED_FILE", "DEFAULT_TOLERANCE", "MAX_ROWS", "Compilation", "compile_folder"]

COMPILED_FILE = "model.onnx"
DEFAULT_TOLERANCE = 1e-5
"""Largest accepted absolute difference of a probability (classifiers) or value (regressors)."""
MAX_ROWS = 1000
"""Rows compared at most: a seeded sample of the reference (or given) rows beyond this."""


@dataclass(frozen=True)
class Compilation:
    """What compiling a version did: ``compiled`` or not, and why."""

    compiled: bool
    reason: str
    rows: int = 0
    max_difference: float | None = None
    version: Version | None = None
    """The version it was registered as (``Registry.compile``), when compiled."""


def compile_folder(
    folder: Path,
    *,
    source: str,
    options: LoadOptions,
    sample: pd.DataFrame | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> Compilation:
    """Compile the sklearn version in ``folder`` in place, if it converts and agrees.

    ``source`` names the version in the lineage (``attrition/3``). On success the folder holds
    ``model.onnx`` and a ``champion.yaml`` of flavor ``onnx``; otherwise it is unchanged.
    """
    if not math.isfinite(tolerance) or tolerance < 0:
        raise InvalidInput(f"tolerance: must be a finite number >= 0, got {tolerance!r}.")
    manifest = read_manifest(folder)
    if manifest.flavor != "sklearn":
        return Compilation(
            False, f"its flavor is {manifest.flavor!r}; only sklearn versions compile."
        )
    if manifest.kind == "ranker":
        return Compilation(False, "rankers do not compile.")
    if (folder / COMPILED_FILE).exists():
        return Compilation(False, f"the version already has a file named {COMPILED_FILE!r}.")
    rows, midpoints = _rows(folder, manifest, sample)
    checked = rows + _probes(rows, midpoints)
    original = SklearnFlavor().load(folder, manifest, options)
    try:
        onnx_model, method = _convert(original, manifest)
    except MissingExtra:
        raise
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return Compilation(False, f"skl2onnx cannot convert it: {first}")
    target = folder / COMPILED_FILE
    target.write_bytes(onnx_model.SerializeToString())
    compiled = manifest.model_copy(update={"flavor": "onnx", "file": COMPILED_FILE})
    try:
        answers = OnnxFlavor().load(folder, compiled, options).predict(checked)
        expected = original.predict(checked)
        difference, mismatch = _compare(expected, answers, len(rows))
    except Exception as exc:
        target.unlink()
        return Compilation(False, f"the compiled model fails on the rows it was checked on: {exc}")
    if mismatch is not None or difference > tolerance:
        target.unlink()
        why = mismatch or (
            f"a {'probability' if manifest.kind == 'classifier' else 'value'} differs by "
            f"{difference:.3g}, more than the tolerance {tolerance:g}"
        )
        return Compilation(
            False, f"its outputs disagree on {_counted(rows, checked)}: {why}.", len(rows)
        )
    lineage = compiled.lineage.model_copy(
        update={
            "derived_from": Derivation(
                version=source,
                file=manifest.file or "",
                method=method,
                rows=len(rows),
                probes=len(checked) - len(rows),
                max_difference=difference,
                tolerance=tolerance,
            ),
            "packages": {
                **compiled.lineage.packages,
                **installed_versions(("onnx", "onnxruntime", "skl2onnx")),
            },
        }
    )
    final = compiled.model_copy(update={"lineage": lineage})
    (folder / MANIFEST).write_text(yaml.safe_dump(final.to_json(), sort_keys=False))
    return Compilation(
        True,
        f"outputs agree on {_counted(rows, checked)} (max difference {difference:.3g} <= "
        f"{tolerance:g}).",
        len(rows),
        difference,
    )


def _counted(rows: list[dict[str, Any]], checked: list[dict[str, Any]]) -> str:
    probes = len(checked) - len(rows)
    return f"{len(rows)} rows" + (f" and {probes} probes between their values" if probes else "")


def _probes(rows: list[dict[str, Any]], midpoints: dict[str, list[float]]) -> list[dict[str, Any]]:
    """Rows with one number moved to a midpoint between two values of the data.

    A tree splits exactly there (scikit-learn puts thresholds halfway between the training
    values it separates), and there float32 rounding sends ONNX's trees one way and
    scikit-learn's the other. Training rows never sit on a split; served rows come close, so
    the comparison looks where disagreement would be.
    """
    usable = sorted(name for name, points in midpoints.items() if points)
    if not usable or not rows:
        return []
    rng = random.Random(0)
    probes = []
    for _ in range(min(MAX_ROWS, len(rows))):
        row = dict(rng.choice(rows))
        name = rng.choice(usable)
        row[name] = rng.choice(midpoints[name])
        probes.append(row)
    return probes


def _rows(
    folder: Path, manifest: Manifest, sample: pd.DataFrame | None
) -> tuple[list[dict[str, Any]], dict[str, list[float]]]:
    """The rows to compare on, and the midpoints between each number field's values."""
    import numpy as np
    import pandas as pd

    if sample is None:
        reference = find_reference_file(folder)
        if reference is None:
            raise InvalidInput(
                "sample: the version has no reference data file to check the compiled model "
                "on; give a sample of rows (a .parquet, .csv or .jsonl file)."
            )
        from champion.datafiles import read_table

        sample = read_table(reference)
    if len(sample) == 0:
        raise InvalidInput("sample: has no rows to check the compiled model on.")
    columns = [spec.name for spec in manifest.signature.inputs]
    missing = [c for c in columns if c not in sample.columns]
    if missing:
        raise InvalidInput(f"sample: lacks the signature's columns {missing!r}.")
    midpoints: dict[str, list[float]] = {}
    for spec in manifest.signature.inputs:
        if spec.type == "number":
            values = np.unique(pd.to_numeric(sample[spec.name], errors="coerce").dropna())
            midpoints[spec.name] = ((values[1:] + values[:-1]) / 2).tolist()
    if len(sample) > MAX_ROWS:
        sample = sample.sample(MAX_ROWS, random_state=0)
    records = sample[columns].astype(object).to_dict(orient="records")
    types = {spec.name: spec.type for spec in manifest.signature.inputs}
    rows = [{c: _json_value(row[c], types[c]) for c in columns} for row in records]
    return SignatureChecker(manifest.signature.inputs, root="sample")(rows), midpoints


def _json_value(value: Any, kind: str) -> Json:
    """A table cell as a request would carry it (NaN is a missing value)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):
        value = value.item()
    if kind == "number" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _convert(loaded: Any, manifest: Manifest) -> tuple[Any, str]:
    try:
        import skl2onnx
        from skl2onnx.common.data_types import FloatTensorType, StringTensorType
    except ImportError:
        raise MissingExtra(
            "Compiling to ONNX needs the onnx extra: pip install 'champion[onnx]'"
        ) from None
    estimator = loaded.estimator
    fields = manifest.signature.inputs
    if loaded.wants_frame:
        # One tensor per column, as the DataFrame it was fitted on: strings stay strings.
        types: list[tuple[str, Any]] = [
            (f.name, (StringTensorType if f.type == "string" else FloatTensorType)([None, 1]))
            for f in fields
        ]
    else:
        types = [("input", FloatTensorType([None, len(fields)]))]
    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    options = {id(final): {"zipmap": False}} if loaded.has_proba else None
    converted = skl2onnx.to_onnx(estimator, initial_types=types, options=options)
    if loaded.has_proba:
        entry = converted.metadata_props.add()
        entry.key = CLASSES_METADATA
        entry.value = json.dumps(loaded.classes)
    return converted, f"skl2onnx {skl2onnx.__version__}"


def _compare(expected: list[Json], answers: list[Json], rows: int) -> tuple[float, str | None]:
    """The largest difference, and the first disagreement that no tolerance excuses."""
    largest = 0.0
    for position, (want, got) in enumerate(zip(expected, answers, strict=True)):
        index = f"row {position}" if position < rows else f"probe {position - rows}"
        if isinstance(want, dict) and isinstance(got, dict):
            if want["label"] != got["label"]:
                return largest, f"{index}: label {got['label']!r} instead of {want['label']!r}"
            for cls, probability in want["probabilities"].items():
                largest = max(largest, abs(probability - got["probabilities"][cls]))
        elif isinstance(want, int | float) and isinstance(got, int | float):
            largest = max(largest, abs(float(want) - float(got)))
        elif want != got:
            return largest, f"{index}: {got!r} instead of {want!r}"
    if math.isnan(largest):
        return largest, "a compiled output is not a number"
    return largest, None
