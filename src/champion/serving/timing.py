"""Per-stage serving latency (routing, model call, logging), aggregated in memory.

An observation is a dictionary lookup, three stores into ring buffers and three additions,
so the serving path can afford one per request: counts and means cover every request since
the process started, percentiles and maxima the newest ``WINDOW`` requests.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

__all__ = ["STEPS", "WINDOW", "StageTimings"]

STEPS = ("routing", "model", "logging")
"""The steps of one request timed here (not the stages of a pipeline endpoint)."""
WINDOW = 4096
"""Requests per (endpoint, version) the percentiles are computed over."""


class StageTimings:
    """Per (endpoint, version): requests, mean, and p50/p99/max of each stage's time.

    Examples
    --------
    >>> timings = StageTimings()
    >>> for ms in (1.0, 2.0, 3.0, 40.0):
    ...     timings.observe("churn", "churn/1", 0.00001, ms / 1000, 0.00002)
    >>> row = next(r for r in timings.snapshot() if r["stage"] == "model")
    >>> row["count"], row["mean_ms"], row["p50_ms"], row["max_ms"]
    (4, 11.5, 2.5, 40.0)
    """

    def __init__(self) -> None:
        self._series: dict[tuple[str, object], list[Any]] = {}
        self._lock = threading.Lock()

    def observe(
        self, endpoint: str, version: object, routing: float, model: float, logging: float
    ) -> None:
        """One request's seconds in each stage; ``version`` is anything with a ``str``."""
        series = self._series.get((endpoint, version))
        if series is None:
            with self._lock:
                series = self._series.setdefault(
                    (endpoint, version),
                    [0, [0.0, 0.0, 0.0], [0.0] * WINDOW, [0.0] * WINDOW, [0.0] * WINDOW],
                )
        # Unlocked on purpose: under a race one sample may be lost or overwritten; a lock
        # would cost every request.
        n = series[0]
        series[0] = n + 1
        i = n % WINDOW
        totals = series[1]
        totals[0] += routing
        totals[1] += model
        totals[2] += logging
        series[2][i] = routing
        series[3][i] = model
        series[4][i] = logging

    def snapshot(self) -> list[dict[str, Any]]:
        rows = []
        for (endpoint, version), series in sorted(
            self._series.items(), key=lambda item: (item[0][0], str(item[0][1]))
        ):
            count, totals = series[0], series[1]
            for s, name in enumerate(STEPS):
                recent = np.asarray(series[2 + s][: min(count, WINDOW)]) * 1000
                p50, p99 = np.percentile(recent, [50, 99]) if count else (None, None)
                rows.append(
                    {
                        "endpoint": endpoint,
                        "version": str(version),
                        "stage": name,
                        "count": count,
                        "mean_ms": totals[s] / count * 1000 if count else None,
                        "p50_ms": None if p50 is None else float(p50),
                        "p99_ms": None if p99 is None else float(p99),
                        "max_ms": float(recent.max()) if count else None,
                    }
                )
        return rows
