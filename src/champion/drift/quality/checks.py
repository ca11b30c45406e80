"""Data quality against the reference profile: what is wrong with each row, and how often.

The same checks serve ingestion (``check_frame``: every bad row with its reasons, so it can
be quarantined instead of silently dropped or used) and serving
(:class:`~champion.drift.quality.counter.QualityCounter`: counts per column and check over a
window of logged predictions, in flat memory, off the request path). The checks, per
reference column:

* ``missing``: the value is missing (None, NaN, a blank string) and the reference column had
  no missing value;
* ``type``: a numeric column holds something that is not a finite number (``"abc"``,
  ``True``, ``inf``), or any column holds a list or a mapping;
* ``range``: a number below the reference minimum or above its maximum (widened on each side
  by ``margin`` times the reference range);
* ``category``: a categorical value never seen in the reference.

A reference column absent from the frame is reported once in ``missing_columns`` (and
every row counts as bad); columns the reference does not know are listed in
``extra_columns`` and otherwise ignored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import numpy as np

from champion.drift.profile import ColumnProfile, ReferenceProfile
from champion.errors import InvalidInput
from champion.validation import check_float

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CHECKS", "Check", "QualityIssue", "QualityReport", "check_frame"]

Check: TypeAlias = Literal["missing", "type", "range", "category"]
CHECKS: tuple[Check, ...] = ("missing", "type", "range", "category")
_SHOWN_CATEGORIES = 5


@dataclass(frozen=True)
class QualityIssue:
    """One problem in one cell: the row's position, the column, the check and why."""

    row: int
    column: str
    check: Check
    value: Any
    reason: str


@dataclass(frozen=True, eq=False)
class QualityReport:
    """The result of ``check_frame``: counts per column and check, and the bad rows.

    Examples
    --------
    >>> import pandas as pd
    >>> reference = ReferenceProfile.from_frame(
    ...     pd.DataFrame({"tenure": [1, 5, 30, 72], "plan": ["a", "b", "a", "b"]})
    ... )
    >>> live = pd.DataFrame({"tenure": [3, 99, "x", None], "plan": ["a", "z", "b", "a"]})
    >>> report = check_frame(live, reference)
    >>> report.bad_rows
    [1, 2, 3]
    >>> for issue in report.issues():
    ...     print(issue.row, issue.check, issue.reason)
    1 range tenure: 99 is above the reference maximum 72
    1 category plan: 'z' was never seen in the reference (known: 'a', 'b')
    2 type tenure: 'x' is not a finite number
    3 missing tenure: missing, and the reference has no missing value
    """

    rows: int
    counts: Mapping[str, Mapping[Check, int]]
    missing_columns: tuple[str, ...] = ()
    extra_columns: tuple[str, ...] = ()
    _flagged: Mapping[tuple[str, Check], np.ndarray] = field(default_factory=dict, repr=False)
    _frame: pd.DataFrame | None = field(default=None, repr=False)
    _reference: ReferenceProfile | None = field(default=None, repr=False)

    @property
    def bad_rows(self) -> list[int]:
        """Positions (0-based) of the rows with at least one problem, in order."""
        if self.missing_columns:
            return list(range(self.rows))
        if not self._flagged:
            return []
        return sorted({int(i) for rows in self._flagged.values() for i in rows})

    @property
    def share_bad(self) -> float:
        return len(self.bad_rows) / self.rows if self.rows else 0.0

    def issues(self) -> list[QualityIssue]:
        """Every problem, by row then in the reference's column order."""
        found = []
        order = {name: i for i, name in enumerate(self.counts)}
        for (column, check), rows in self._flagged.items():
            for row in rows:
                value = None if self._frame is None else self._frame[column].iloc[int(row)]
                if isinstance(value, np.generic):
                    value = value.item()
                found.append(
                    QualityIssue(int(row), column, check, value, self._reason(column, check, value))
                )
        found.sort(key=lambda i: (i.row, order.get(i.column, 0), CHECKS.index(i.check)))
        return found

    def reasons(self) -> dict[int, list[str]]:
        """Row position → the reasons it is bad (what a quarantine stores beside the row)."""
        by_row: dict[int, list[str]] = {}
        if self.missing_columns:
            absent = ", ".join(map(repr, self.missing_columns))
            for row in range(self.rows):
                by_row[row] = [f"the data lacks reference columns {absent}"]
        for issue in self.issues():
            by_row.setdefault(issue.row, []).append(issue.reason)
        return by_row

    def split(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """``(clean, quarantined)``: the quarantined rows carry a ``quality_reasons`` column."""
        reasons = self.reasons()
        bad = np.zeros(len(frame), dtype=bool)
        bad[list(reasons)] = True
        quarantined = frame[bad].copy()
        quarantined["quality_reasons"] = ["; ".join(reasons[int(i)]) for i in np.flatnonzero(bad)]
        return frame[~bad], quarantined

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "bad_rows": len(self.bad_rows),
            "share_bad": self.share_bad,
            "missing_columns": list(self.missing_columns),
            "extra_columns": list(self.extra_columns),
            "columns": {name: dict(checks) for name, checks in self.counts.items()},
        }

    def _reason(self, column: str, check: Check, value: Any) -> str:
        profile = None if self._reference is None else self._reference.column(column)
        if check == "missing":
            return f"{column}: missing, and the reference has no missing value"
        if check == "type":
            return f"{column}: {value!r} is not a finite number"
        if check == "category":
            known = sorted((profile.frequencies or {}) if profile else {})
            shown = ", ".join(map(repr, known[:_SHOWN_CATEGORIES]))
            more = f", ... {len(known) - _SHOWN_CATEGORIES} more" if len(known) > 5 else ""
            return f"{column}: {value!r} was never seen in the reference (known: {shown}{more})"
        assert profile is not None and profile.minimum is not None and profile.maximum is not None
        number = _as_float(value)
        if number < profile.minimum:
            return f"{column}: {value!r} is below the reference minimum {profile.minimum:g}"
        return f"{column}: {value!r} is above the reference maximum {profile.maximum:g}"


def check_frame(
    frame: pd.DataFrame,
    reference: ReferenceProfile,
    *,
    checks: Sequence[Check] = CHECKS,
    margin: float = 0.0,
) -> QualityReport:
    """Check every reference column of ``frame``; see the module docstring for the checks.

    Parameters
    ----------
    frame
        The rows to check (ingested data, or a window of served inputs).
    reference
        The profile the rows should look like.
    checks
        Which checks to run (default: all four).
    margin
        Widens the accepted range of numbers by ``margin * (maximum - minimum)`` each side.
    """
    margin = check_float("check_frame", "margin", margin, 0.0, float("inf"), closed="left")
    unknown = sorted(set(checks) - set(CHECKS))
    if unknown:
        raise InvalidInput(f"Unknown quality checks {unknown!r}. Checks: {', '.join(CHECKS)}.")
    present = {str(c) for c in frame.columns}
    names = reference.names()
    missing_columns = tuple(n for n in names if n not in present)
    extra_columns = tuple(sorted(present - set(names)))
    counts: dict[str, dict[Check, int]] = {}
    flagged: dict[tuple[str, Check], np.ndarray] = {}
    for profile in reference.columns:
        counts[profile.name] = dict.fromkeys(checks, 0)
        if profile.name in missing_columns:
            continue
        for check, mask in _masks(frame[profile.name], profile, checks, margin).items():
            rows = np.flatnonzero(mask)
            counts[profile.name][check] = len(rows)
            if len(rows):
                flagged[(profile.name, check)] = rows
    return QualityReport(
        len(frame), counts, missing_columns, extra_columns, flagged, frame, reference
    )


def _masks(
    series: pd.Series, profile: ColumnProfile, checks: Sequence[Check], margin: float
) -> dict[Check, np.ndarray]:
    import pandas as pd

    values = series.reset_index(drop=True)
    mixed = values.dtype == object
    # Only an object column can hold lists, mappings or booleans among other values; typed
    # columns (numbers from Parquet, a DataFrame) skip the per-value look.
    structured = (
        values.map(lambda v: isinstance(v, list | dict | tuple | set)).to_numpy(bool)
        if mixed
        else np.zeros(len(values), dtype=bool)
    )
    text = values.astype("string").str.strip() if mixed else None
    missing = values.isna().to_numpy(bool) & ~structured
    if text is not None:
        missing |= (text == "").fillna(False).to_numpy(bool) & ~structured
    masks: dict[Check, np.ndarray] = {}
    if "missing" in checks and profile.missing == 0:
        masks["missing"] = missing
    present = ~missing
    if profile.kind == "numeric":
        if mixed:
            booleans = values.map(lambda v: isinstance(v, bool | np.bool_)).to_numpy(bool)
        else:
            booleans = np.full(len(values), pd.api.types.is_bool_dtype(values.dtype))
        source = text if text is not None else values
        numbers = pd.to_numeric(source.mask(structured | booleans), errors="coerce")
        parsed = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
        finite = np.isfinite(parsed)
        if "type" in checks:
            masks["type"] = present & ~finite
        if "range" in checks and profile.minimum is not None and profile.maximum is not None:
            pad = margin * (profile.maximum - profile.minimum)
            with np.errstate(invalid="ignore"):
                outside = (parsed < profile.minimum - pad) | (parsed > profile.maximum + pad)
            masks["range"] = present & finite & outside
        return masks
    if "type" in checks:
        masks["type"] = structured
    if "category" in checks:
        known = set(profile.frequencies or {})
        keys = values.mask(structured).astype(str)
        masks["category"] = present & ~structured & ~keys.isin(known).to_numpy(bool)
    return masks


def _as_float(value: Any) -> float:
    return float(str(value).strip()) if isinstance(value, str) else float(value)
