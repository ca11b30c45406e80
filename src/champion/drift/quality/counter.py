"""QualityCounter: the reference checks of :func:`check_frame` counted over many chunks."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any, Self

from champion.drift.profile import ReferenceProfile
from champion.drift.quality.checks import CHECKS, Check, check_frame

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["QualityCounter"]


class QualityCounter:
    """Counts quality problems over many chunks (a window of served inputs) in flat memory.

    Examples
    --------
    >>> import pandas as pd
    >>> reference = ReferenceProfile.from_frame(pd.DataFrame({"x": [1.0, 2.0, 3.0]}))
    >>> counter = QualityCounter(reference)
    >>> _ = counter.update(pd.DataFrame({"x": [2.0, 9.0]})).update(pd.DataFrame({"x": [None]}))
    >>> counter.rows, counter.bad_rows, counter.counts["x"]
    (3, 2, {'missing': 1, 'type': 0, 'range': 1, 'category': 0})
    """

    def __init__(self, reference: ReferenceProfile, *, margin: float = 0.0) -> None:
        self.reference = reference
        self.margin = margin
        self.rows = 0
        self.bad_rows = 0
        self.counts: dict[str, dict[Check, int]] = {
            c.name: dict.fromkeys(CHECKS, 0) for c in reference.columns
        }
        self.missing_columns: set[str] = set()
        self.unchecked_columns: set[str] = set()

    def update(self, frame: pd.DataFrame, *, unchecked: Collection[str] = ()) -> Self:
        """Count the problems of ``frame``'s rows.

        ``unchecked`` names reference columns this frame is not expected to hold (the model's
        outputs, in a data file that has none): they are neither missing nor checked.
        """
        reference = self.reference
        if unchecked:
            skip = set(unchecked)
            reference = ReferenceProfile(
                reference.rows, tuple(c for c in reference.columns if c.name not in skip)
            )
            self.unchecked_columns.update(skip & set(self.counts))
        report = check_frame(frame, reference, margin=self.margin)
        self.rows += report.rows
        self.bad_rows += len(report.bad_rows)
        self.missing_columns.update(report.missing_columns)
        for name, checks in report.counts.items():
            for check, n in checks.items():
                self.counts[name][check] += n
        return self

    def add(self, other: QualityCounter) -> Self:
        """Add the counts of ``other`` (another stretch of data against the same reference)."""
        self.rows += other.rows
        self.bad_rows += other.bad_rows
        self.missing_columns.update(other.missing_columns)
        for name, checks in other.counts.items():
            mine = self.counts.setdefault(name, dict.fromkeys(CHECKS, 0))
            for check, n in checks.items():
                mine[check] = mine.get(check, 0) + n
        return self

    def to_state(self) -> dict[str, Any]:
        """Everything the counter holds, for ``from_state`` (a stored day keeps it)."""
        return {
            "rows": self.rows,
            "bad_rows": self.bad_rows,
            "missing_columns": sorted(self.missing_columns),
            "counts": self.counts,
        }

    @classmethod
    def from_state(cls, reference: ReferenceProfile, state: Mapping[str, Any]) -> QualityCounter:
        counter = cls(reference)
        counter.rows = int(state["rows"])
        counter.bad_rows = int(state["bad_rows"])
        counter.missing_columns = set(state["missing_columns"])
        for name, checks in state["counts"].items():
            counter.counts[name] = {check: int(n) for check, n in checks.items()}
        return counter

    @property
    def share_bad(self) -> float:
        return self.bad_rows / self.rows if self.rows else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "bad_rows": self.bad_rows,
            "share_bad": self.share_bad,
            "missing_columns": sorted(self.missing_columns),
            "unchecked_columns": sorted(self.unchecked_columns),
            "columns": {
                name: checks for name, checks in self.counts.items() if any(checks.values())
            },
        }
