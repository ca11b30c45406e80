"""Table drift: every column of a current window against the reference profile.

The current window is a DataFrame or an iterator of DataFrames (chunks). Each column is
accumulated by a ``ColumnAccumulator`` (counts and histograms exactly, numeric values in a
seeded reservoir of at most ``sample_size``), so memory stays flat however many chunks come.
Each column gets its default detector (``select.default_test``) unless ``tests`` names
another; p-values are corrected across the columns that have one (Benjamini-Hochberg by
default, or Bonferroni), and the verdict of a p-value test compares the corrected p-value
with its threshold.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from champion.drift.detectors import DetectorSpec, default_detectors
from champion.drift.profile import ColumnKind, ReferenceProfile
from champion.drift.select import default_test
from champion.drift.window import DEFAULT_SAMPLE_SIZE, ColumnAccumulator, ColumnWindow
from champion.errors import InvalidInput
from champion.plugins import Registry

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ColumnDrift", "Correction", "TableDrift", "compare_table", "compare_windows"]

Correction = Literal["bh", "bonferroni", "none"]
_CORRECTIONS = ("bh", "bonferroni", "none")


@dataclass(frozen=True)
class ColumnDrift:
    """One column's verdict. ``p_adjusted`` is the p-value after the correction."""

    column: str
    kind: ColumnKind
    method: str
    statistic: float
    p_value: float | None
    p_adjusted: float | None
    threshold: float
    drifted: bool
    n_current: int
    missing_share: float

    @property
    def severity(self) -> float:
        """How far past its threshold the column is (1.0 at the threshold; larger is worse).

        Distances: ``statistic / threshold``. P-values: ``log(p) / log(threshold)``.
        """
        if self.p_adjusted is None:
            return self.statistic / self.threshold
        return math.log(max(self.p_adjusted, 1e-300)) / math.log(self.threshold)


@dataclass(frozen=True)
class TableDrift:
    """Per-column results, most severe first, and the share of drifted columns.

    ``rows`` is the number of current rows; ``skipped`` lists the columns that had no
    non-missing current value (nothing to compare: data quality reports them);
    ``windows`` keeps what each column's window left behind (for reports).
    """

    columns: tuple[ColumnDrift, ...]
    correction: Correction
    rows: int = 0
    skipped: tuple[str, ...] = ()
    windows: Mapping[str, ColumnWindow] = field(default_factory=dict, compare=False, repr=False)

    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]

    @property
    def share_drifted(self) -> float:
        return len(self.drifted_columns) / len(self.columns) if self.columns else 0.0

    def column(self, name: str) -> ColumnDrift:
        for result in self.columns:
            if result.column == name:
                return result
        raise InvalidInput(f"Unknown column {name!r}. Columns: {', '.join(self._names())}.")

    def _names(self) -> list[str]:
        return [c.column for c in self.columns]

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([{**c.__dict__, "severity": c.severity} for c in self.columns])

    def to_json(self) -> dict[str, Any]:
        """JSON-ready: the verdict per column (most severe first) and the share drifted."""
        return {
            "rows": self.rows,
            "correction": self.correction,
            "share_drifted": self.share_drifted,
            "drifted_columns": self.drifted_columns,
            "skipped_columns": list(self.skipped),
            "columns": [
                {**c.__dict__, "severity": c.severity, "verdict": _verdict(c)} for c in self.columns
            ],
        }


def _verdict(column: ColumnDrift) -> str:
    return "drift" if column.drifted else "no drift"


def compare_table(
    reference: ReferenceProfile,
    current: pd.DataFrame | Iterable[pd.DataFrame],
    *,
    tests: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    correction: Correction = "bh",
    sample_size: int | None = DEFAULT_SAMPLE_SIZE,
    seed: int = 0,
    detectors: Registry[DetectorSpec] | None = None,
    progress: Callable[[int], None] | None = None,
) -> TableDrift:
    """Compare ``current`` (a DataFrame or chunks of one) with ``reference``.

    Parameters
    ----------
    reference
        The profile of the training data.
    current
        The current window: one DataFrame or an iterable of DataFrames with the same columns.
    tests
        Detector name per column, overriding ``select.default_test``.
    thresholds
        Threshold per column, overriding the detector's default.
    correction
        ``bh`` (Benjamini-Hochberg, ``scipy.stats.false_discovery_control``), ``bonferroni``
        or ``none``, across the columns whose detector has a p-value.
    sample_size, seed
        The bound and seed of each numeric column's reservoir (see ``window``).
    detectors
        The registry to resolve names in (default: ``default_detectors()``).
    progress
        Called with the number of rows of each chunk once it is accumulated.

    Examples
    --------
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> train = pd.DataFrame({"x": rng.normal(size=5000), "y": rng.normal(size=5000)})
    >>> live = pd.DataFrame({"x": rng.normal(size=5000), "y": rng.normal(1.0, size=5000)})
    >>> chunks = (live.iloc[i : i + 1000] for i in range(0, 5000, 1000))
    >>> result = compare_table(ReferenceProfile.from_frame(train), chunks)
    >>> result.drifted_columns, result.share_drifted
    (['y'], 0.5)
    """
    import pandas as pd

    _check_options("compare_table", reference, correction, tests, thresholds)
    accumulators = {
        c.name: ColumnAccumulator(c, sample_size=sample_size, seed=seed + i)
        for i, c in enumerate(reference.columns)
    }
    chunks = [current] if isinstance(current, pd.DataFrame) else current
    rows = 0
    for chunk in chunks:
        missing = [name for name in accumulators if name not in chunk.columns]
        if missing:
            raise InvalidInput(f"The current data lacks reference columns {missing!r}.")
        for name, accumulator in accumulators.items():
            accumulator.update(chunk[name])
        rows += len(chunk)
        if progress is not None:
            progress(len(chunk))
    windows = {name: accumulator.window() for name, accumulator in accumulators.items()}
    return compare_windows(
        reference, windows, rows, tests=tests, thresholds=thresholds, correction=correction,
        detectors=detectors,
    )  # fmt: skip


def _check_options(
    caller: str,
    reference: ReferenceProfile,
    correction: str,
    tests: Mapping[str, str] | None,
    thresholds: Mapping[str, float] | None,
) -> None:
    """Refuse a bad correction or a test or threshold for a column the reference lacks
    (before any data is read)."""
    if correction not in _CORRECTIONS:
        raise InvalidInput(
            f"The 'correction' parameter of {caller} must be one of "
            f"{', '.join(map(repr, _CORRECTIONS))}. Got {correction!r} instead."
        )
    for name in sorted(set(tests or {}) | set(thresholds or {})):
        reference.column(name)


def compare_windows(
    reference: ReferenceProfile,
    windows: Mapping[str, ColumnWindow],
    rows: int,
    *,
    tests: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    correction: Correction = "bh",
    detectors: Registry[DetectorSpec] | None = None,
) -> TableDrift:
    """Compare windows already accumulated (one per reference column, over ``rows`` rows)
    with ``reference``; ``compare_table`` is this after accumulating its chunks."""
    _check_options("compare_windows", reference, correction, tests, thresholds)
    registry = default_detectors() if detectors is None else detectors
    tests = dict(tests or {})
    thresholds = dict(thresholds or {})
    raw = []
    skipped = []
    for profile in reference.columns:
        window = windows[profile.name]
        if window.n_values == 0 or profile.n_values == 0:
            skipped.append(profile.name)
            continue
        n = min(profile.n_values, window.n_values)
        spec = registry.get(tests.get(profile.name) or default_test(profile.kind, n))
        result = spec.build(thresholds.get(profile.name)).compare(profile, window)
        share = window.missing / window.count if window.count else 0.0
        raw.append((profile, spec, result, window.n_values, share))
    adjusted = _adjust([r.p_value for _, _, r, _, _ in raw], correction)
    columns = []
    for (profile, _, result, n_current, share), p_adj in zip(raw, adjusted, strict=True):
        drifted = result.drifted if p_adj is None else p_adj < result.threshold
        columns.append(
            ColumnDrift(
                profile.name,
                profile.kind,
                result.method,
                result.statistic,
                result.p_value,
                p_adj,
                result.threshold,
                drifted,
                n_current,
                share,
            )
        )
    columns.sort(key=lambda c: (not c.drifted, -c.severity, c.column))
    return TableDrift(tuple(columns), correction, rows, tuple(skipped), windows)


def _adjust(p_values: list[float | None], correction: Correction) -> list[float | None]:
    from scipy import stats

    present = [i for i, p in enumerate(p_values) if p is not None]
    if not present or correction == "none":
        return list(p_values)
    ps = np.array([p_values[i] for i in present], dtype=np.float64)
    if correction == "bh":
        adjusted = stats.false_discovery_control(ps, method="bh")
    else:
        adjusted = np.minimum(ps * len(ps), 1.0)
    result: list[float | None] = [None] * len(p_values)
    for i, value in zip(present, adjusted, strict=True):
        result[i] = float(value)
    return result
