"""Rate of change: how fast each column's drift statistic moves across consecutive windows.

For one column over the windows of a timeline (``timeline.drift_timeline``): the Theil-Sen
slope (``scipy.stats.theilslopes``, the median of the pairwise slopes, so one odd window
does not tilt it) of the statistic against the windows' midpoints, in statistic units per
day, with its 95 % interval. Only windows measured with the same method as the latest one
count (the default detector switches from a p-value test to an effect size at 1,000 rows,
and a slope across two scales means nothing); at least ``MIN_WINDOWS`` are needed. A slope
whose interval lies above zero is ``rising``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from champion.drift.monitor import DriftRun

__all__ = ["MIN_WINDOWS", "ColumnTrend", "column_trend", "steepest"]

MIN_WINDOWS = 3
DAY_SECONDS = 86_400.0


@dataclass(frozen=True)
class ColumnTrend:
    """The slope per day of one column's drift statistic, and its 95 % interval."""

    column: str
    method: str
    windows: int
    slope_per_day: float
    low: float
    high: float

    @property
    def rising(self) -> bool:
        return self.low > 0

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "windows": self.windows,
            "slope_per_day": self.slope_per_day,
            "low": self.low,
            "high": self.high,
            "rising": self.rising,
        }


def column_trend(column: str, runs: Sequence[DriftRun]) -> ColumnTrend | None:
    """The trend of ``column`` over ``runs`` (windows in time order), or None with fewer than
    ``MIN_WINDOWS`` comparable windows.

    Examples
    --------
    >>> from datetime import UTC, timedelta
    >>> from types import SimpleNamespace
    >>> def run(day, psi):
    ...     start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=day)
    ...     cell = SimpleNamespace(column="tenure", method="psi", statistic=psi)
    ...     return SimpleNamespace(start=start, end=start + timedelta(days=1),
    ...                            drift=SimpleNamespace(columns=[cell]))
    >>> trend = column_trend("tenure", [run(d, 0.02 + 0.05 * d) for d in range(5)])
    >>> round(trend.slope_per_day, 3), trend.rising
    (0.05, True)
    """
    from scipy.stats import theilslopes

    points: list[tuple[datetime, str, float]] = []
    for run in runs:
        found = next((c for c in run.drift.columns if c.column == column), None)
        if found is not None and run.start is not None and run.end is not None:
            points.append((run.start + (run.end - run.start) / 2, found.method, found.statistic))
    if not points:
        return None
    method = points[-1][1]
    same = [(at, value) for at, m, value in points if m == method]
    if len(same) < MIN_WINDOWS:
        return None
    first = same[0][0]
    days = [(at - first).total_seconds() / DAY_SECONDS for at, _ in same]
    result = theilslopes([value for _, value in same], days, alpha=0.95)
    return ColumnTrend(
        column, method, len(same), float(result.slope),
        float(result.low_slope), float(result.high_slope),
    )  # fmt: skip


def steepest(runs: Sequence[DriftRun], columns: Sequence[str]) -> ColumnTrend | None:
    """The column whose statistic rises fastest over ``runs`` (None: no trend at all)."""
    trends = [t for t in (column_trend(c, runs) for c in columns) if t is not None]
    return max(trends, key=lambda t: t.slope_per_day, default=None)
