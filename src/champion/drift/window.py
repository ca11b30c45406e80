"""The current window of one column, accumulated chunk by chunk in bounded memory.

A ``ColumnAccumulator`` takes the current data in as many chunks as it comes in
(``update(values) -> self``) and keeps only what the detectors need:

* the row and missing counts;
* categorical: the count of each category;
* numeric: the counts on the reference histogram's fixed edges (exact, whatever the number
  of chunks) and a uniform sample of at most ``sample_size`` values (reservoir sampling,
  Algorithm R, with its own seeded generator). Below ``sample_size`` values the sample is
  the whole window; above it, KS and Wasserstein see a uniform random subset of the window,
  and the KS p-value is computed for the sample's size (honest, with less power).

Memory is therefore flat: O(categories) or O(sample_size + bins) per column.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

import numpy as np

from champion.drift.profile import (
    ColumnKind,
    ColumnProfile,
    FloatArray,
    IntArray,
    bin_index,
    category_keys,
    numeric_values,
)
from champion.errors import InvalidInput

__all__ = [
    "DEFAULT_SAMPLE_SIZE",
    "ColumnAccumulator",
    "ColumnWindow",
    "as_window",
    "merge_windows",
    "window_from_state",
    "window_state",
]

DEFAULT_SAMPLE_SIZE = 100_000


@dataclass(frozen=True, eq=False)
class ColumnWindow:
    """What a window of current data left behind for one column."""

    kind: ColumnKind
    count: int
    missing: int
    sample: FloatArray | None = None
    bin_counts: IntArray | None = None
    frequencies: dict[str, int] | None = None

    @property
    def n_values(self) -> int:
        return self.count - self.missing

    @property
    def sampled(self) -> bool:
        """True when the numeric sample holds only part of the window."""
        return self.sample is not None and len(self.sample) < self.n_values


class ColumnAccumulator:
    """Accumulates one column of the current window against its reference profile.

    Examples
    --------
    >>> reference = ColumnProfile.from_values("x", np.arange(100.0))
    >>> acc = ColumnAccumulator(reference, sample_size=10, seed=0)
    >>> for start in range(0, 1000, 100):
    ...     _ = acc.update(np.arange(start, start + 100.0))
    >>> window = acc.window()
    >>> window.count, len(window.sample), window.sampled, int(window.bin_counts.sum())
    (1000, 10, True, 1000)
    """

    def __init__(
        self,
        reference: ColumnProfile,
        sample_size: int | None = DEFAULT_SAMPLE_SIZE,
        seed: int = 0,
    ) -> None:
        if sample_size is not None and sample_size < 1:
            raise InvalidInput(
                "The 'sample_size' parameter of ColumnAccumulator must be an int in the range "
                f"[1, inf) or None. Got {sample_size!r} instead."
            )
        self.reference = reference
        self.sample_size = sample_size
        self._rng = np.random.default_rng(seed)
        self._count = 0
        self._missing = 0
        self._seen = 0
        self._sample: FloatArray = np.empty(0, dtype=np.float64)
        edges = reference.bin_edges
        self._bins: IntArray | None = (
            None if edges is None else np.zeros(len(edges) + 1, dtype=np.int64)
        )
        self._frequencies: Counter[str] = Counter()

    def update(self, values: Any) -> Self:
        """Add one chunk of the column's values."""
        size = len(values)
        self._count += size
        if self.reference.kind == "categorical":
            keys = category_keys(values)
            self._missing += size - len(keys)
            self._frequencies.update({str(k): int(v) for k, v in keys.value_counts().items()})
            return self
        numbers = numeric_values(values)
        self._missing += size - len(numbers)
        if self._bins is not None and self.reference.bin_edges is not None:
            found = np.bincount(
                bin_index(self.reference.bin_edges, numbers), minlength=len(self._bins)
            )
            self._bins += found
        self._add_to_sample(numbers)
        return self

    def _add_to_sample(self, numbers: FloatArray) -> None:
        cap = self.sample_size
        if cap is None or len(self._sample) + len(numbers) <= cap:
            self._sample = np.concatenate([self._sample, numbers])
            self._seen += len(numbers)
            return
        free = cap - len(self._sample)
        self._sample = np.concatenate([self._sample, numbers[:free]])
        self._seen += free
        rest = numbers[free:]
        # Algorithm R: the item with 0-based index i replaces slot j ~ U{0..i} when j < cap.
        # Fancy assignment applies repeated slots in order, as the sequential algorithm would.
        index = self._seen + np.arange(len(rest))
        slots = self._rng.integers(0, index + 1)
        keep = slots < cap
        self._sample[slots[keep]] = rest[keep]
        self._seen += len(rest)

    def window(self) -> ColumnWindow:
        if self.reference.kind == "categorical":
            return ColumnWindow(
                "categorical", self._count, self._missing, frequencies=dict(self._frequencies)
            )
        return ColumnWindow(
            "numeric",
            self._count,
            self._missing,
            sample=np.sort(self._sample),
            bin_counts=None if self._bins is None else self._bins.copy(),
        )


def as_window(reference: ColumnProfile, current: Any) -> ColumnWindow:
    """``current`` as a window: returned as is if already one, else accumulated in full."""
    if isinstance(current, ColumnWindow):
        if current.kind != reference.kind:
            raise InvalidInput(
                f"Column {reference.name!r} is {reference.kind!r} in the reference but the "
                f"current window was accumulated as {current.kind!r}."
            )
        return current
    return ColumnAccumulator(reference, sample_size=None).update(current).window()


def window_state(window: ColumnWindow) -> dict[str, Any]:
    """``window`` as JSON-ready data that ``window_from_state`` reads back exactly (the sample
    as the bytes of its float64 values, so no digit is lost on either database)."""
    return {
        "kind": window.kind,
        "count": window.count,
        "missing": window.missing,
        "sample": None
        if window.sample is None
        else base64.b64encode(window.sample.astype("<f8").tobytes()).decode("ascii"),
        "bin_counts": None if window.bin_counts is None else window.bin_counts.tolist(),
        "frequencies": window.frequencies,
    }


def window_from_state(state: Mapping[str, Any]) -> ColumnWindow:
    sample = state.get("sample")
    bins = state.get("bin_counts")
    return ColumnWindow(
        state["kind"],
        int(state["count"]),
        int(state["missing"]),
        sample=None
        if sample is None
        else np.frombuffer(base64.b64decode(sample), dtype="<f8").astype(np.float64),
        bin_counts=None if bins is None else np.asarray(bins, dtype=np.int64),
        frequencies=None if state.get("frequencies") is None else dict(state["frequencies"]),
    )


def merge_windows(
    first: ColumnWindow,
    second: ColumnWindow,
    rng: np.random.Generator,
    sample_size: int | None = DEFAULT_SAMPLE_SIZE,
) -> ColumnWindow:
    """The window of two disjoint stretches of data, from the windows of each.

    Counts, histogram counts and category counts add up. The numeric samples are
    concatenated while both hold every value and the total fits in ``sample_size``, so the
    result is exactly what one accumulator over both stretches gives. Otherwise each side
    contributes a multivariate hypergeometric share of the ``sample_size`` slots, drawn
    from its sample without replacement: a uniform sample of the union, as a single
    reservoir would have kept (the same law, not the same values).

    Examples
    --------
    >>> reference = ColumnProfile.from_values("x", np.arange(100.0))
    >>> a = ColumnAccumulator(reference).update(np.arange(10.0)).window()
    >>> b = ColumnAccumulator(reference).update(np.arange(10.0, 30.0)).window()
    >>> merged = merge_windows(a, b, np.random.default_rng(0))
    >>> merged.count, len(merged.sample), int(merged.bin_counts.sum())
    (30, 30, 30)
    """
    if first.kind != second.kind:
        raise InvalidInput(f"Cannot merge a {first.kind!r} window with a {second.kind!r} one.")
    count, missing = first.count + second.count, first.missing + second.missing
    if first.kind == "categorical":
        frequencies = Counter(first.frequencies or {})
        frequencies.update(second.frequencies or {})
        return ColumnWindow("categorical", count, missing, frequencies=dict(frequencies))
    bins = None
    if first.bin_counts is not None and second.bin_counts is not None:
        bins = first.bin_counts + second.bin_counts
    a = first.sample if first.sample is not None else np.empty(0, dtype=np.float64)
    b = second.sample if second.sample is not None else np.empty(0, dtype=np.float64)
    complete = not first.sampled and not second.sampled
    if complete and (sample_size is None or len(a) + len(b) <= sample_size):
        sample = np.sort(np.concatenate([a, b]))
    else:
        cap = len(a) + len(b) if sample_size is None else sample_size
        shares = rng.multivariate_hypergeometric([first.n_values, second.n_values], cap)
        # A side's sample holds min(its values, sample_size) values, at least its share.
        taken = [
            side[rng.choice(len(side), min(int(share), len(side)), replace=False)]
            for side, share in zip((a, b), shares, strict=True)
        ]
        sample = np.sort(np.concatenate(taken))
    return ColumnWindow("numeric", count, missing, sample=sample, bin_counts=bins)
