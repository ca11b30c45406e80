"""Per-stage serving latency (routing, model call, logging), aggregated in memory.

An observation is a dictionary lookup and a few additions (well under a microsecond), so the
serving path can afford one per stage and request; percentiles come from a histogram of
quarter-octave buckets (each about 19 % wide), never from stored samples.
"""

from __future__ import annotations

import math
import threading
from typing import Any

__all__ = ["STAGES", "StageTimings"]

STAGES = ("routing", "model", "logging")
_BUCKETS = 160  # quarter octaves from 1 µs: up to about 10^12 µs


class StageTimings:
    """Counts, totals, maxima and a log histogram per (endpoint, version, stage).

    Examples
    --------
    >>> timings = StageTimings()
    >>> for ms in (1.0, 2.0, 3.0, 40.0):
    ...     timings.observe("churn", "churn/1", "model", ms / 1000)
    >>> row = timings.snapshot()[0]
    >>> row["count"], round(row["mean_ms"], 2), row["max_ms"]
    (4, 11.5, 40.0)
    >>> 1.6 < row["p50_ms"] < 2.4
    True
    """

    def __init__(self) -> None:
        self._series: dict[tuple[str, str, str], list[Any]] = {}
        self._lock = threading.Lock()

    def observe(self, endpoint: str, version: str, stage: str, seconds: float) -> None:
        key = (endpoint, version, stage)
        series = self._series.get(key)
        if series is None:
            with self._lock:
                series = self._series.setdefault(key, [0, 0.0, 0.0, [0] * _BUCKETS])
        micro = seconds * 1e6
        index = int(math.log2(micro) * 4) if micro > 1 else 0
        # Unlocked on purpose: a lost increment under a race costs one sample, a lock costs
        # every request.
        series[0] += 1
        series[1] += seconds
        if seconds > series[2]:
            series[2] = seconds
        series[3][min(index, _BUCKETS - 1)] += 1

    def snapshot(self) -> list[dict[str, Any]]:
        rows = []
        for (endpoint, version, stage), (count, total, peak, buckets) in sorted(
            self._series.items()
        ):
            rows.append(
                {
                    "endpoint": endpoint,
                    "version": version,
                    "stage": stage,
                    "count": count,
                    "mean_ms": total / count * 1000 if count else None,
                    "p50_ms": _quantile(buckets, count, 0.5),
                    "p99_ms": _quantile(buckets, count, 0.99),
                    "max_ms": peak * 1000,
                }
            )
        return rows


def _quantile(buckets: list[int], count: int, q: float) -> float | None:
    if not count:
        return None
    seen = 0
    for index, n in enumerate(buckets):
        seen += n
        if seen >= q * count:
            # the bucket's geometric middle, in milliseconds
            return float(2 ** ((index + 0.5) / 4) / 1000)
    return None  # pragma: no cover
