"""A stretch of served instances, accumulated against one reference profile.

What a drift run needs from the current data fits in a ``Stretch``: one ``ColumnWindow`` per
reference column (counts, histogram and category counts, a bounded numeric sample), the
data-quality counts, the rows and the prediction events behind them. Two stretches of
disjoint data merge into the stretch of both (``merge``), and a stretch round-trips through
JSON (``stretch_state``), which is how a day of predictions outlives its raw rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from champion.drift.profile import ReferenceProfile
from champion.drift.quality import QualityCounter
from champion.drift.window import (
    DEFAULT_SAMPLE_SIZE,
    ColumnAccumulator,
    ColumnWindow,
    merge_windows,
    window_from_state,
    window_state,
)
from champion.errors import InvalidInput

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Stretch", "accumulate", "merge", "merge_generators", "stretch_from_state"]


@dataclass(frozen=True)
class Stretch:
    """The windows of every reference column, the quality counts, rows and events."""

    windows: Mapping[str, ColumnWindow]
    quality: QualityCounter
    rows: int
    predictions: int

    def to_state(self) -> dict[str, Any]:
        return {
            "windows": {name: window_state(w) for name, w in self.windows.items()},
            "quality": self.quality.to_state(),
        }


def stretch_from_state(
    profile: ReferenceProfile, state: Mapping[str, Any], rows: int, predictions: int
) -> Stretch:
    windows = {name: window_from_state(w) for name, w in state["windows"].items()}
    if set(windows) != set(profile.names()):
        raise InvalidInput(
            f"A stored window has columns {sorted(windows)!r}; the reference has "
            f"{sorted(profile.names())!r}."
        )
    quality = QualityCounter.from_state(profile, state["quality"])
    return Stretch(windows, quality, rows, predictions)


def accumulate(
    profile: ReferenceProfile,
    chunks: Iterable[tuple[int, pd.DataFrame]],
    *,
    sample_size: int | None = DEFAULT_SAMPLE_SIZE,
    progress: Callable[[int], None] | None = None,
) -> Stretch:
    """Accumulate ``(events, frame)`` chunks of served instances, in flat memory.

    Each column gets the accumulator ``compare_table`` would give it (same sample size and
    seed), so a stretch compared alone gives ``compare_table``'s answer on the same rows.
    """
    names = profile.names()
    known = set(names)
    accumulators = {
        c.name: ColumnAccumulator(c, sample_size=sample_size, seed=i)
        for i, c in enumerate(profile.columns)
    }
    quality = QualityCounter(profile)
    rows = events = 0
    for n_events, chunk in chunks:
        present = {str(c) for c in chunk.columns} & known
        absent = sorted(known - present)
        if absent and any(not n.startswith("output") for n in absent):
            raise InvalidInput(f"The current data lacks reference columns {absent!r}.")
        # A window without some output column (rankers, a changed output) is compared on
        # what it has; the reference decides the columns.
        frame = chunk.reindex(columns=names)
        quality.update(frame)
        for name, accumulator in accumulators.items():
            accumulator.update(frame[name])
        rows += len(frame)
        events += n_events
        if progress is not None:
            progress(len(frame))
    windows = {name: accumulator.window() for name, accumulator in accumulators.items()}
    return Stretch(windows, quality, rows, events)


def merge_generators(profile: ReferenceProfile) -> list[np.random.Generator]:
    """One seeded generator per column for a sequence of ``merge`` calls: the same
    stretches merged in the same order give the same result."""
    return [np.random.default_rng(i) for i in range(len(profile.columns))]


def merge(
    profile: ReferenceProfile,
    first: Stretch,
    second: Stretch,
    generators: Sequence[np.random.Generator],
    sample_size: int | None = DEFAULT_SAMPLE_SIZE,
) -> Stretch:
    """The stretch of both (disjoint) stretches; see ``window.merge_windows``."""
    windows = {
        c.name: merge_windows(first.windows[c.name], second.windows[c.name], rng, sample_size)
        for c, rng in zip(profile.columns, generators, strict=True)
    }
    quality = QualityCounter(profile).add(first.quality).add(second.quality)
    return Stretch(
        windows, quality, first.rows + second.rows, first.predictions + second.predictions
    )
