"""The BatchDetector protocol, its result and its registry entry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from champion.drift.profile import ColumnKind, ColumnProfile, FloatArray
from champion.drift.window import ColumnWindow, as_window
from champion.errors import InvalidInput

__all__ = [
    "BatchDetector",
    "DetectorSpec",
    "DriftResult",
    "binned_shares",
    "check_threshold",
    "window_for",
]


@dataclass(frozen=True)
class DriftResult:
    """One column compared: the statistic, its p-value when the test has one, the verdict.

    ``drifted`` is ``p_value < threshold`` for tests with a p-value and
    ``statistic >= threshold`` for distances.
    """

    statistic: float
    p_value: float | None
    threshold: float
    drifted: bool
    method: str


class BatchDetector(Protocol):
    """Compares a reference column profile with a current column.

    ``current`` is the raw values (array, list or Series) or a ``ColumnWindow`` accumulated
    chunk by chunk.
    """

    @property
    def name(self) -> str: ...

    @property
    def threshold(self) -> float: ...

    def compare(self, reference: ColumnProfile, current: Any) -> DriftResult: ...


@dataclass(frozen=True)
class DetectorSpec:
    """A registry entry, as Evidently's ``StatTest`` descriptor.

    ``has_p_value`` tells the table whether the statistic is a p-value test (and so takes part
    in the multiple-testing correction) or a distance compared with its threshold.
    """

    name: str
    display_name: str
    column_kinds: frozenset[ColumnKind]
    default_threshold: float
    has_p_value: bool
    factory: Callable[[float], BatchDetector]

    def build(self, threshold: float | None = None) -> BatchDetector:
        return self.factory(self.default_threshold if threshold is None else threshold)


def check_threshold(owner: str, threshold: float, *, p_value: bool) -> float:
    """The single place a detector's threshold is validated."""
    value = float(threshold)
    valid = 0.0 < value < 1.0 if p_value else 0.0 < value < float("inf")
    if not valid:
        interval = "(0, 1)" if p_value else "(0, inf)"
        raise InvalidInput(
            f"The 'threshold' parameter of {owner} must be a float in the range {interval}. "
            f"Got {threshold!r} instead."
        )
    return value


def window_for(
    name: str, kinds: frozenset[ColumnKind], reference: ColumnProfile, current: Any
) -> ColumnWindow:
    if reference.kind not in kinds:
        raise InvalidInput(
            f"The {name!r} detector does not apply to {reference.kind} column "
            f"{reference.name!r}; it takes {', '.join(sorted(kinds))} columns."
        )
    window = as_window(reference, current)
    if window.n_values == 0:
        raise InvalidInput(f"Column {reference.name!r} has no non-missing current value.")
    if reference.n_values == 0:
        raise InvalidInput(f"Column {reference.name!r} has no non-missing reference value.")
    return window


def binned_shares(reference: ColumnProfile, window: ColumnWindow) -> tuple[FloatArray, FloatArray]:
    """Reference and current shares on a common support.

    Categorical: every category seen in either (sorted). Numeric: the reference histogram's
    fixed bins, so the shares are exact even when the reference is a sketch.
    """
    if reference.kind == "categorical":
        ref_freq = reference.frequencies or {}
        cur_freq = window.frequencies or {}
        keys = sorted(set(ref_freq) | set(cur_freq))
        ref = np.array([ref_freq.get(k, 0) for k in keys], dtype=np.float64)
        cur = np.array([cur_freq.get(k, 0) for k in keys], dtype=np.float64)
    else:
        assert reference.bin_counts is not None and window.bin_counts is not None
        ref = reference.bin_counts.astype(np.float64)
        cur = window.bin_counts.astype(np.float64)
    return ref / ref.sum(), cur / cur.sum()
