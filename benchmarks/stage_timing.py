"""What per-stage serving latency costs a request: the added work, timed in a tight loop.

Each request now takes two more ``perf_counter`` readings and one ``StageTimings.observe``
call (three stages). This times exactly that work, against the
server's measured CPU time per request (README: about 0.9 ms with one connection).

    .venv/bin/python benchmarks/stage_timing.py
"""

from __future__ import annotations

import statistics
import time

from champion.registry import VersionKey
from champion.serving import StageTimings


def added_work(n: int) -> float:
    timings = StageTimings()
    version = VersionKey("bench", 1)
    started = time.perf_counter()
    for _ in range(n):
        # the two readings the serving path added, and the one observation
        a = time.perf_counter()
        b = time.perf_counter()
        timings.observe("bench", version, b - a, 0.0004, 0.00002)
    return (time.perf_counter() - started) / n


def main() -> None:
    n = 200_000
    rounds = [added_work(n) for _ in range(5)]
    per_request_us = statistics.median(rounds) * 1e6
    print(f"stage timing: {per_request_us:.2f} µs per request (median of 5 rounds of {n:,})")
    print(f"share of 0.911 ms server CPU per request: {per_request_us / 911:.2%}")


if __name__ == "__main__":
    main()
