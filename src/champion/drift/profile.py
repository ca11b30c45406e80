"""The reference profile: what a version's training data looked like, column by column.

A profile is computed once from a DataFrame and stored with the model version as a JSON-ready
dict. Drift is measured against it without ever re-reading the training data, and building
it keeps no raw rows beyond a bounded sample:

* every column: its kind (``numeric`` or ``categorical``), row count and missing count;
* numeric: the exact sorted values when there are at most ``EXACT_LIMIT`` (10,000)
  non-missing values, otherwise a sketch of ``SKETCH_SIZE`` (1,000) quantiles at the
  mid-probabilities ``(i + 0.5) / 1000`` plus the minimum and maximum; the mean and the
  (population) standard deviation; and a histogram on fixed edges at the reference deciles
  (for PSI and Jensen-Shannon);
* categorical: the count of every category (categories are compared as strings).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, cast

import numpy as np
from numpy.typing import NDArray

from champion.errors import InvalidInput

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "EXACT_LIMIT",
    "HISTOGRAM_BINS",
    "SKETCH_SIZE",
    "ColumnKind",
    "ColumnProfile",
    "ReferenceProfile",
    "bin_index",
    "category_keys",
    "infer_kind",
    "numeric_values",
]

ColumnKind: TypeAlias = Literal["numeric", "categorical"]
KINDS: tuple[ColumnKind, ...] = ("numeric", "categorical")
EXACT_LIMIT = 10_000
"""Up to this many non-missing values a numeric column keeps them all (sorted)."""
SKETCH_SIZE = 1_000
"""Above ``EXACT_LIMIT``, the number of quantiles kept instead."""
HISTOGRAM_BINS = 10
"""Histogram bins at the reference deciles (fewer when quantiles tie)."""
FORMAT_VERSION = 1

FloatArray: TypeAlias = NDArray[np.float64]
IntArray: TypeAlias = NDArray[np.int64]


def numeric_values(values: Any) -> FloatArray:
    """The finite numbers in ``values``; blanks, unparseable strings, NaN and inf are missing.

    >>> import pandas as pd
    >>> numeric_values(pd.Series(["1.5", " ", "2", None])).tolist()
    [1.5, 2.0]
    """
    import pandas as pd

    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values))
    if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
        series = series.astype("string").str.strip()
        series = series.mask(series == "")
    numbers = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return cast(FloatArray, numbers[np.isfinite(numbers)])


def category_keys(values: Any) -> pd.Series:
    """The non-missing values of ``values`` as strings, the form categories are compared in."""
    import pandas as pd

    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values))
    return series[series.notna()].astype(str)


def infer_kind(values: pd.Series) -> ColumnKind:
    """``numeric`` for numbers (also numbers stored as text), ``categorical`` otherwise.

    Booleans and numeric columns with at most two distinct values (flags such as 0/1) are
    categorical.

    >>> import pandas as pd
    >>> infer_kind(pd.Series([1.0, 2.5, 3.0])), infer_kind(pd.Series(["a", "b"]))
    ('numeric', 'categorical')
    >>> infer_kind(pd.Series(["29.85", " ", "1889.5", "42"])), infer_kind(pd.Series([0, 1, 1]))
    ('numeric', 'categorical')
    """
    import pandas as pd

    if pd.api.types.is_bool_dtype(values.dtype):
        return "categorical"
    present = values.dropna()
    if pd.api.types.is_numeric_dtype(values.dtype):
        return "numeric" if present.nunique() > 2 else "categorical"
    text = present.astype(str).str.strip()
    text = text[text != ""]
    if len(text) and pd.to_numeric(text, errors="coerce").notna().all() and text.nunique() > 2:
        return "numeric"
    return "categorical"


def bin_index(edges: FloatArray, values: FloatArray) -> IntArray:
    """Bin of each value: 0 below ``edges[0]``, i for ``[edges[i-1], edges[i])``, len at the top."""
    return np.searchsorted(edges, values, side="right").astype(np.int64)


@dataclass(frozen=True, eq=False)
class ColumnProfile:
    """The reference summary of one column; see the module docstring for what it holds."""

    name: str
    kind: ColumnKind
    count: int
    missing: int
    values: FloatArray | None = None
    quantiles: FloatArray | None = None
    minimum: float | None = None
    maximum: float | None = None
    mean: float | None = None
    std: float | None = None
    bin_edges: FloatArray | None = None
    bin_counts: IntArray | None = None
    frequencies: Mapping[str, int] | None = None

    @classmethod
    def from_values(cls, name: str, values: Any, kind: ColumnKind | None = None) -> ColumnProfile:
        """Profile one column; ``kind`` overrides the inferred one.

        >>> column = ColumnProfile.from_values("age", [30, 41, None, 25])
        >>> column.kind, column.count, column.missing, column.exact
        ('numeric', 4, 1, True)
        """
        import pandas as pd

        series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values))
        kind = infer_kind(series) if kind is None else _check_kind(name, kind)
        count = len(series)
        if kind == "categorical":
            keys = category_keys(series)
            frequencies = {str(k): int(v) for k, v in keys.value_counts().sort_index().items()}
            return cls(name, kind, count, count - len(keys), frequencies=frequencies)
        numbers = numeric_values(series)
        n = len(numbers)
        if n == 0:
            raise InvalidInput(
                f"Column {name!r} has no finite numeric value in the reference "
                f"(got {count} rows); profile it as 'categorical' or drop it."
            )
        exact = n <= EXACT_LIMIT
        edges = np.unique(np.quantile(numbers, np.linspace(0, 1, HISTOGRAM_BINS + 1)[1:-1]))
        counts = np.bincount(bin_index(edges, numbers), minlength=len(edges) + 1)
        return cls(
            name,
            kind,
            count,
            count - n,
            values=np.sort(numbers) if exact else None,
            quantiles=None if exact else np.quantile(numbers, _sketch_probabilities()),
            minimum=float(numbers.min()),
            maximum=float(numbers.max()),
            mean=float(numbers.mean()),
            std=float(numbers.std()),
            bin_edges=edges.astype(np.float64),
            bin_counts=counts.astype(np.int64),
        )

    @property
    def n_values(self) -> int:
        """Non-missing values the profile was built from."""
        return self.count - self.missing

    @property
    def missing_share(self) -> float:
        return self.missing / self.count if self.count else 0.0

    @property
    def exact(self) -> bool:
        """True when the profile holds every value (categorical profiles always do)."""
        return self.kind == "categorical" or self.values is not None

    def support(self) -> FloatArray:
        """The exact sorted values, or the sketch's quantiles (each standing for 1/1000)."""
        points = self.values if self.values is not None else self.quantiles
        if points is None:
            raise InvalidInput(f"Column {self.name!r} is {self.kind!r}, not numeric.")
        return points

    def cdf(self, x: FloatArray, side: Literal["left", "right"] = "right") -> FloatArray:
        """Reference CDF at ``x`` (``side='left'``: the limit from the left).

        Exact profiles give the empirical CDF. Sketches interpolate linearly between
        ``(minimum, 0)``, the quantiles at ``(i + 0.5) / 1000`` and ``(maximum, 1)``, so the
        error is at most the mass between two neighbouring quantiles (1/1000).
        """
        if self.values is not None:
            return np.searchsorted(self.values, x, side=side) / len(self.values)
        xs, ps = self._sketch_points()
        i = np.searchsorted(xs, x, side=side)
        lo = np.clip(i - 1, 0, len(xs) - 1)
        hi = np.clip(i, 0, len(xs) - 1)
        width = xs[hi] - xs[lo]
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(width > 0, (x - xs[lo]) / width, 0.0)
        result = ps[lo] + (ps[hi] - ps[lo]) * frac
        return np.where(i == 0, 0.0, np.where(i == len(xs), 1.0, result))

    def _sketch_points(self) -> tuple[FloatArray, FloatArray]:
        assert self.quantiles is not None and self.minimum is not None and self.maximum is not None
        xs = np.concatenate([[self.minimum], self.quantiles, [self.maximum]])
        ps = np.concatenate([[0.0], _sketch_probabilities(), [1.0]])
        return xs, ps

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``ColumnProfile.from_dict`` reads it back."""
        data: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "count": self.count,
            "missing": self.missing,
        }
        if self.kind == "categorical":
            data["frequencies"] = dict(self.frequencies or {})
            return data
        for key in ("minimum", "maximum", "mean", "std"):
            data[key] = getattr(self, key)
        for key in ("values", "quantiles", "bin_edges", "bin_counts"):
            array = getattr(self, key)
            data[key] = None if array is None else array.tolist()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnProfile:
        try:
            name = str(data["name"])
            kind = _check_kind(name, data["kind"])
            common = {"name": name, "kind": kind, "count": data["count"]}
            if kind == "categorical":
                freq = {str(k): int(v) for k, v in data["frequencies"].items()}
                return cls(**common, missing=int(data["missing"]), frequencies=freq)
            return cls(
                **common,
                missing=int(data["missing"]),
                values=_array(data.get("values"), np.float64),
                quantiles=_array(data.get("quantiles"), np.float64),
                minimum=data["minimum"],
                maximum=data["maximum"],
                mean=data["mean"],
                std=data["std"],
                bin_edges=_array(data["bin_edges"], np.float64),
                bin_counts=_array(data["bin_counts"], np.int64),
            )
        except (KeyError, TypeError, AttributeError) as error:
            raise InvalidInput(f"Invalid column profile {dict(data)!r}: {error!r}") from None


@dataclass(frozen=True, eq=False)
class ReferenceProfile:
    """The profile of a whole table: one ``ColumnProfile`` per column, in column order.

    Examples
    --------
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> frame = pd.DataFrame({"x": rng.normal(size=50_000), "plan": rng.choice(["a", "b"], 50_000)})
    >>> profile = ReferenceProfile.from_frame(frame)
    >>> [(c.name, c.kind, c.exact) for c in profile.columns]
    [('x', 'numeric', False), ('plan', 'categorical', True)]
    >>> ReferenceProfile.from_dict(profile.to_dict()).to_dict() == profile.to_dict()
    True
    """

    rows: int
    columns: tuple[ColumnProfile, ...]

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        kinds: Mapping[str, ColumnKind] | None = None,
        columns: Sequence[str] | None = None,
    ) -> ReferenceProfile:
        """Profile ``columns`` (default: all) of ``frame``; ``kinds`` overrides inferred kinds."""
        kinds = dict(kinds or {})
        names = [str(c) for c in frame.columns] if columns is None else list(columns)
        unknown = sorted((set(kinds) | set(names)) - {str(c) for c in frame.columns})
        if unknown:
            raise InvalidInput(
                f"Unknown columns {unknown!r}. Columns: {', '.join(map(str, frame.columns))}."
            )
        profiles = tuple(
            ColumnProfile.from_values(name, frame[name], kinds.get(name)) for name in names
        )
        return cls(len(frame), profiles)

    def column(self, name: str) -> ColumnProfile:
        for profile in self.columns:
            if profile.name == name:
                return profile
        known = ", ".join(self.names())
        raise InvalidInput(f"Unknown column {name!r} in the reference. Columns: {known}.")

    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "rows": self.rows,
            "columns": [c.to_dict() for c in self.columns],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReferenceProfile:
        version = data.get("format")
        if version != FORMAT_VERSION:
            raise InvalidInput(
                f"Unsupported reference profile format {version!r}; expected {FORMAT_VERSION}."
            )
        return cls(int(data["rows"]), tuple(ColumnProfile.from_dict(c) for c in data["columns"]))


def _sketch_probabilities() -> FloatArray:
    return (np.arange(SKETCH_SIZE, dtype=np.float64) + 0.5) / SKETCH_SIZE


def _check_kind(name: str, kind: object) -> ColumnKind:
    if kind not in KINDS:
        raise InvalidInput(
            f"The kind of column {name!r} must be 'numeric' or 'categorical'. Got {kind!r} instead."
        )
    return kind


def _array(values: Any, dtype: type[np.generic]) -> Any:
    return None if values is None else np.asarray(values, dtype=dtype)
