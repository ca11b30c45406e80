"""Predict latency while the server computes reports over many events, against predict alone.

Over a database ``analysis_scale.py`` filled (and ``experiment_page.py`` made a server's:
this script prepares it the same way), one ``champion server`` answers ``wrk -t1 -c1`` on
``POST /v1/endpoints/bench/predict`` for ``--duration`` seconds, first alone, then while a
client asks what the dashboard's experiment page asks (``/experiment``,
``/experiment/timeline``, ``/stats``), one after another, a round every ``--every`` seconds
(the page refreshes every 5 s; 0: back to back, as many open pages would): the reads run in
the same process as the predictions, as on a server whose dashboard is open. Reported:
predict p50/p99 and req/s both ways, and how many reads the client got and their median
time. ``--env NAME=VALUE`` sets a server setting (e.g. ``CHAMPION_FOLD_LAG_SECONDS=5``).

    .venv/bin/python benchmarks/analysis_serving.py \\
        --database postgresql://postgres:champion@127.0.0.1:5432/bench
    .venv/bin/python benchmarks/analysis_serving.py --sqlite /tmp/b.db
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
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

READS = (
    f"/v1/endpoints/{ENDPOINT}/experiment",
    f"/v1/endpoints/{ENDPOINT}/experiment/timeline?points=12",
    f"/v1/endpoints/{ENDPOINT}/stats",
)
BODY = {"unit": "bench-client", "instances": [{"a": 0.1, "b": -0.3, "c": 1.2}]}


def _wrk(url: str, body: Path, duration: int) -> dict[str, Any]:
    return wrk_one_connection(url, "post.lua", duration, {"BODY": str(body)})


def _read_loop(
    base: str, every: float, stop: threading.Event, times: dict[str, list[float]]
) -> None:
    with httpx.Client(base_url=base, timeout=120) as client:
        while not stop.is_set():
            round_started = time.perf_counter()
            for path in READS:
                started = time.perf_counter()
                client.get(path).raise_for_status()
                times[path.split("?")[0]].append(time.perf_counter() - started)
            stop.wait(max(0.0, every - (time.perf_counter() - round_started)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_database_arguments(parser)
    parser.add_argument("--duration", type=int, default=15, help="seconds per wrk run")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between read rounds")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the server")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "analysis_serving.json")
    args = parser.parse_args()
    settings = dict(item.split("=", 1) for item in args.env)
    server = started_server(parser, args, settings)
    found: dict[str, Any] = {"read_round_every_seconds": args.every, "settings": settings}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            body = Path(tmp) / "body.json"
            body.write_text(json.dumps(BODY))
            predict = f"{server.url}/v1/endpoints/{ENDPOINT}/predict"
            httpx.post(predict, json=BODY, timeout=60).raise_for_status()
            _wrk(predict, body, 2)  # warm up
            found["alone"] = _wrk(predict, body, args.duration)
            stop = threading.Event()
            times: dict[str, list[float]] = {path.split("?")[0]: [] for path in READS}
            reader = threading.Thread(target=_read_loop, args=(server.url, args.every, stop, times))
            reader.start()
            try:
                found["while_reading"] = _wrk(predict, body, args.duration)
            finally:
                stop.set()
                reader.join()
            found["reads"] = {
                path: {"count": len(t), "median_seconds": statistics.median(t) if t else None}
                for path, t in times.items()
            }
    finally:
        server.stop()
    write_result(found, args)


if __name__ == "__main__":
    main()
