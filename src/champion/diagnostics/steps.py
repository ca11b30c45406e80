"""Step timings of pipeline runs: history, trend, and the step that stands out."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from champion.automation import STEPS, Run

__all__ = ["step_timings"]

SLOWER = 1.5
"""A step whose latest time is this many times its earlier median is reported as slower."""


def step_timings(runs: Sequence[Run]) -> dict[str, Any]:
    """Per step, over ``runs`` (newest first): seconds oldest to newest, median, trend.

    The slowest step of the newest run is named; a step is ``slower`` when its newest time is
    at least 1.5 times the median of its earlier ones (``faster`` at most 1/1.5).
    """
    ordered = list(reversed(runs))
    steps = []
    latest_run = ordered[-1] if ordered else None
    for name in STEPS:
        history = [
            {"run": run.id, "seconds": s.seconds}
            for run in ordered
            if (s := run.step(name)) is not None and s.seconds is not None
        ]
        if not history:
            continue
        seconds = [h["seconds"] for h in history]
        earlier = seconds[:-1]
        median = statistics.median(earlier) if earlier else None
        trend = "new"
        if median:
            ratio = seconds[-1] / median
            trend = "slower" if ratio >= SLOWER else "faster" if ratio <= 1 / SLOWER else "steady"
        steps.append(
            {
                "step": name,
                "latest_seconds": seconds[-1],
                "median_seconds": median,
                "trend": trend,
                "history": history,
            }
        )
    slowest = None
    if latest_run is not None:
        timed = [(s.seconds, s.step) for s in latest_run.steps if s.seconds is not None]
        if timed:
            total = sum(t for t, _ in timed)
            longest, name = max(timed)
            slowest = {
                "step": name,
                "seconds": longest,
                "share": longest / total if total else None,
            }
    return {"runs": len(ordered), "steps": steps, "slowest_latest": slowest}
