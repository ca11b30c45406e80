"""Screening a table against a pipeline's declared schema, row by row.

The schema is a list of :class:`~champion.registry.manifest.FieldSpec` (name, type,
nullability), the same typed signature a version declares for its inputs. A file whose
columns differ from it is refused whole; otherwise each cell is converted to its declared
type, and a row with any cell that cannot be is set aside with one reason per bad cell.
Blank cells (after stripping spaces) are missing values. Nothing is dropped silently: every
row ends up either accepted or rejected with its reasons.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from champion.registry.manifest import FieldSpec
from champion.validation import short_repr

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = ["RejectedRow", "Screened", "arrow_schema", "column_problem", "screen"]

_INTEGER = re.compile(r"^[+-]?\d+$")
_BOOLEANS = {"true": True, "false": False, "1": True, "0": False}


@dataclass(frozen=True)
class RejectedRow:
    """A row that failed the schema: its position in the file, raw values and reasons."""

    row: int
    values: dict[str, Any]
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Screened:
    """The accepted rows as an Arrow table (declared types) and the rejected ones."""

    accepted: pa.Table
    rejected: tuple[RejectedRow, ...]

    @property
    def rows(self) -> int:
        return int(self.accepted.num_rows) + len(self.rejected)


def _arrow_type(declared: str) -> pa.DataType:
    import pyarrow as pa

    types = {"integer": pa.int64, "number": pa.float64, "string": pa.string, "boolean": pa.bool_}
    return types[declared]()


def arrow_schema(fields: Sequence[FieldSpec]) -> pa.Schema:
    import pyarrow as pa

    return pa.schema([pa.field(f.name, _arrow_type(f.type), nullable=f.nullable) for f in fields])


def column_problem(columns: Sequence[str], fields: Sequence[FieldSpec]) -> str | None:
    """Why a table with ``columns`` does not have the schema's columns, or None if it does.

    Examples
    --------
    >>> fields = [FieldSpec(name="tenure", type="integer"), FieldSpec(name="plan", type="string")]
    >>> column_problem(["tenure", "plan"], fields) is None
    True
    >>> column_problem(["Tenure", "plan"], fields)
    "its columns differ from the schema: missing ['tenure']; unexpected ['Tenure']"
    """
    declared = [f.name for f in fields]
    missing = [name for name in declared if name not in columns]
    unexpected = [name for name in columns if name not in declared]
    duplicated = sorted({name for name in columns if list(columns).count(name) > 1})
    parts = []
    if missing:
        parts.append(f"missing {missing!r}")
    if unexpected:
        parts.append(f"unexpected {unexpected!r}")
    if duplicated:
        parts.append(f"duplicated {duplicated!r}")
    return "its columns differ from the schema: " + "; ".join(parts) if parts else None


def screen(frame: pd.DataFrame, fields: Sequence[FieldSpec]) -> Screened:
    """Convert every cell of ``frame`` to its field's type; set aside the rows that fail.

    ``frame`` must have the schema's columns (see :func:`column_problem`).

    Examples
    --------
    >>> import pandas as pd
    >>> fields = [FieldSpec(name="tenure", type="integer"),
    ...           FieldSpec(name="charges", type="number", nullable=True)]
    >>> raw = pd.DataFrame({"tenure": ["3", "abc", "", "7"], "charges": ["1.5", "2", " ", "x"]})
    >>> result = screen(raw, fields)
    >>> result.accepted.to_pydict()
    {'tenure': [3], 'charges': [1.5]}
    >>> for row in result.rejected:
    ...     print(row.row, row.reasons)
    1 ("tenure: 'abc' is not an integer",)
    2 ('tenure: missing, but the schema says it is not nullable',)
    3 ("charges: 'x' is not a finite number",)
    """
    import pyarrow as pa

    columns: dict[str, list[Any]] = {}
    reasons: dict[int, list[str]] = {}
    for spec in fields:
        converted = []
        for row, cell in enumerate(frame[spec.name].tolist()):
            value, problem = _convert(cell, spec)
            converted.append(value)
            if problem is not None:
                reasons.setdefault(row, []).append(f"{spec.name}: {problem}")
        columns[spec.name] = converted
    bad = sorted(reasons)
    good = [row for row in range(len(frame)) if row not in reasons]
    accepted = pa.table(
        {
            spec.name: pa.array([columns[spec.name][row] for row in good], _arrow_type(spec.type))
            for spec in fields
        },
        schema=arrow_schema(fields),
    )
    records = frame.iloc[bad].to_dict(orient="records") if bad else []
    rejected = tuple(
        RejectedRow(row, {str(k): _plain(v) for k, v in values.items()}, tuple(reasons[row]))
        for row, values in zip(bad, records, strict=True)
    )
    return Screened(accepted, rejected)


def _convert(cell: Any, spec: FieldSpec) -> tuple[Any, str | None]:
    if hasattr(cell, "item") and not isinstance(cell, str):
        cell = cell.item()  # NumPy scalars from Parquet and DataFrames
    if _missing(cell):
        if spec.nullable:
            return None, None
        return None, "missing, but the schema says it is not nullable"
    text = cell.strip() if isinstance(cell, str) else None
    if spec.type == "string":
        if text is not None:
            return cell, None
        return None, f"{short_repr(cell)} is not a string"
    if spec.type == "integer":
        if text is not None and _INTEGER.match(text):
            return int(text), None
        if isinstance(cell, int) and not isinstance(cell, bool):
            return int(cell), None
        if isinstance(cell, float) and cell.is_integer():
            return int(cell), None
        return None, f"{short_repr(cell)} is not an integer"
    if spec.type == "number":
        number: float | None = None
        if text is not None:
            try:
                number = float(text)
            except ValueError:
                number = None
        elif isinstance(cell, int | float) and not isinstance(cell, bool):
            number = float(cell)
        if number is None or not math.isfinite(number):
            return None, f"{short_repr(cell)} is not a finite number"
        return number, None
    if isinstance(cell, bool):
        return cell, None
    if text is not None and text.lower() in _BOOLEANS:
        return _BOOLEANS[text.lower()], None
    return None, f"{short_repr(cell)} is not a boolean (true, false, 1 or 0)"


def _missing(cell: Any) -> bool:
    if cell is None:
        return True
    if isinstance(cell, str):
        return not cell.strip()
    if isinstance(cell, float):
        return math.isnan(cell)
    if isinstance(cell, int):
        return False
    import pandas as pd  # only the odd cell gets here: most are checked without a look-up

    return cell is pd.NA


def _plain(value: Any) -> Any:
    """A raw value as JSON can store it (NaN and NA become None)."""
    if _missing(value) and not isinstance(value, str):
        return None
    return value.item() if hasattr(value, "item") else value
