"""Saving a fitted scikit-learn estimator as a version folder, from Python.

Importing this module imports nothing heavy: pandas, scikit-learn and skops are imported when
a model is saved.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from champion.errors import InvalidInput

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["infer_signature", "save_model"]

MODEL_FILE = "model.skops"
REFERENCE_FILE = "reference.parquet"


def infer_signature(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The signature inputs a frame's columns describe: name, type, and nullable if any cell
    is missing. Booleans are ``boolean``, integers ``integer``, floats ``number``; strings,
    categories and other objects ``string``.

    Examples
    --------
    >>> import pandas as pd
    >>> infer_signature(pd.DataFrame({"tenure": [1, 2], "plan": ["a", None]}))
    [{'name': 'tenure', 'type': 'integer'}, {'name': 'plan', 'type': 'string', 'nullable': True}]
    """
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise InvalidInput(f"example: must be a pandas DataFrame, got {type(frame).__name__}.")
    if frame.empty or len(frame.columns) == 0:
        raise InvalidInput("example: has no rows or no columns to infer a signature from.")
    fields: list[dict[str, Any]] = []
    for column in frame.columns:
        if not isinstance(column, str) or not column:
            raise InvalidInput(f"example: column names must be non-empty strings, got {column!r}.")
        series = frame[column]
        dtype = series.dtype
        if pd.api.types.is_bool_dtype(dtype):
            kind = "boolean"
        elif pd.api.types.is_integer_dtype(dtype):
            kind = "integer"
        elif pd.api.types.is_float_dtype(dtype):
            kind = "number"
        elif (
            isinstance(dtype, pd.CategoricalDtype)
            or pd.api.types.is_object_dtype(dtype)
            or (pd.api.types.is_string_dtype(dtype))
        ):
            kind = "string"
        else:
            raise InvalidInput(
                f"example: column {column!r} has dtype {str(dtype)!r}; a signature holds "
                "booleans, integers, numbers and strings."
            )
        field: dict[str, Any] = {"name": column, "type": kind}
        if series.isna().any():
            field["nullable"] = True
        fields.append(field)
    return fields


def save_model(
    estimator: Any,
    folder: str | Path,
    *,
    example: pd.DataFrame,
    reference: pd.DataFrame | None = None,
    name: str | None = None,
    kind: Literal["classifier", "regressor"] | None = None,
    lineage: Mapping[str, Any] | None = None,
    trusted_types: Sequence[str] = (),
) -> Path:
    """Write ``estimator`` as a version folder: ``model.skops``, ``champion.yaml`` and
    ``reference.parquet``, ready for ``champion models register`` or ``Client.register``.

    Parameters
    ----------
    estimator
        A fitted scikit-learn estimator or Pipeline.
    folder
        Where to write; it must not exist yet, or be empty.
    example
        Input rows as the model takes them: the signature is inferred from its columns
        (names, dtypes, missing values), and it is the drift reference unless ``reference``
        is given.
    reference
        The training rows, profiled at registration as the drift reference.
    name
        The model's name in ``champion.yaml`` (``register`` can name it instead).
    kind
        ``classifier`` or ``regressor``; by default a classifier if it has ``predict_proba``.
    lineage
        ``champion.yaml``'s lineage (``trained_by``, ``params``, ``metrics``, ``tags``, ...).
    trusted_types
        Types beyond scikit-learn, NumPy and SciPy that the skops file holds and you trust.

    Returns
    -------
    Path
        The folder.

    Raises
    ------
    InvalidInput
        When the folder is in use, the example is not a DataFrame with rows, or the manifest
        it would write is invalid (its message names the field).
    """
    import skops.io
    import yaml

    from champion.registry.manifest import MANIFEST, parse_manifest

    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InvalidInput(f"folder: {str(folder)!r} already exists and is not an empty folder.")
    inputs = infer_signature(example)
    if reference is not None:
        missing = [f["name"] for f in inputs if f["name"] not in reference.columns]
        if missing:
            raise InvalidInput(f"reference: lacks the example's columns {missing!r}.")
        for spec in inputs:  # a few example rows may have no gap where the training rows do
            if reference[spec["name"]].isna().any():
                spec["nullable"] = True
    if kind is None:
        kind = "classifier" if hasattr(estimator, "predict_proba") else "regressor"
    raw: dict[str, Any] = {
        **({"name": name} if name else {}),
        "kind": kind,
        "flavor": "sklearn",
        "file": MODEL_FILE,
        **({"trusted_types": list(trusted_types)} if trusted_types else {}),
        "signature": {"inputs": inputs},
        **({"lineage": dict(lineage)} if lineage else {}),
    }
    parse_manifest(raw)  # refuses a bad name, kind or lineage before anything is written
    folder.mkdir(parents=True, exist_ok=True)
    skops.io.dump(estimator, folder / MODEL_FILE)
    rows = example if reference is None else reference
    rows[[f["name"] for f in inputs]].to_parquet(folder / REFERENCE_FILE, index=False)
    (folder / MANIFEST).write_text(yaml.safe_dump(raw, sort_keys=False))
    return folder
