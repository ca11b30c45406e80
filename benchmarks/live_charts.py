"""The endpoint page's live charts right after (and beside) live traffic.

The page asks ``/stats`` for the last 20 windows of one minute (``?start=&end=&buckets=20``;
``--window 10`` for its ten-second choice) when it opens, then for the newest two every 5 s.
Those windows cut the current rollup segment (an hour by default). Over a database
``analysis_scale.py`` filled (prepared as ``experiment_page.py`` does), one ``champion
server`` answers ``wrk -t1 -c1`` predictions from ``--units`` distinct units for
``--duration`` seconds, with the newest-two call every 5 s beside it; then the first call
and the newest-two call are timed ``--repeat`` times without traffic.

    .venv/bin/python benchmarks/live_charts.py \\
        --database postgresql://postgres:champion@127.0.0.1:5432/bench --duration 600
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from benchmarks.analysis_scale import ENDPOINT  # noqa: E402
from benchmarks.experiment_page import (  # noqa: E402
    add_database_arguments,
    started_server,
    write_result,
    wrk_one_connection,
)

WINDOWS = 20


def _chart_query(count: int, seconds: int) -> dict[str, Any]:
    # As endpoint.js's loadWindows: windows of ``seconds`` from the epoch, the newest one
    # still filling.
    size = timedelta(seconds=seconds)
    now = datetime.now(UTC)
    newest = datetime.fromtimestamp(now.timestamp() // seconds * seconds, UTC)
    first = newest - (count - 1) * size
    return {"start": first.isoformat(), "end": (newest + size).isoformat(), "buckets": count}


def _timed(client: httpx.Client, count: int, seconds: int) -> tuple[float, int]:
    started = time.perf_counter()
    query = _chart_query(count, seconds)
    answer = client.get(f"/v1/endpoints/{ENDPOINT}/stats", params=query)
    answer.raise_for_status()
    seconds = time.perf_counter() - started
    requests = sum(v["requests"] for b in answer.json()["buckets"] for v in b["versions"])
    return seconds, requests


def _beside(base: str, seconds: int, stop: threading.Event, times: list[float]) -> None:
    with httpx.Client(base_url=base, timeout=600) as client:
        while not stop.wait(5):
            times.append(_timed(client, 2, seconds)[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_database_arguments(parser)
    parser.add_argument("--duration", type=int, default=120, help="seconds of traffic")
    parser.add_argument("--units", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--window", type=int, default=60, help="seconds (the page: 10 or 60)")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the server")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "live_charts.json")
    args = parser.parse_args()
    settings = dict(item.split("=", 1) for item in args.env)
    server = started_server(parser, args, settings)
    found: dict[str, Any] = {"units": args.units, "window_seconds": args.window}
    found["settings"] = settings
    try:
        url = f"{server.url}/v1/endpoints/{ENDPOINT}/predict"
        beside: list[float] = []
        stop = threading.Event()
        reader = threading.Thread(target=_beside, args=(server.url, args.window, stop, beside))
        reader.start()
        try:
            units = {"UNITS": str(args.units)}
            found["traffic"] = wrk_one_connection(url, "units.lua", args.duration, units)
        finally:
            stop.set()
            reader.join()
        found["newest_two_beside_traffic"] = {
            "count": len(beside),
            "median_seconds": statistics.median(beside) if beside else None,
            "max_seconds": max(beside, default=None),
        }
        with httpx.Client(base_url=server.url, timeout=600) as client:
            for count, name in ((WINDOWS, "first_call"), (2, "newest_two")):
                runs = [_timed(client, count, args.window) for _ in range(args.repeat)]
                found[name] = {
                    "seconds_each": [s for s, _ in runs],
                    "median_seconds": statistics.median(s for s, _ in runs),
                    "requests_in_windows": runs[-1][1],
                }
    finally:
        server.stop()
    write_result(found, args)


if __name__ == "__main__":
    main()
