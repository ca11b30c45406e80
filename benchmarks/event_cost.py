"""What the prediction event costs the event loop, in process: the serving service with parts
of the event taken out, in paired blocks.

``ServingService.predict`` is called on uvloop with the serving benchmark's model and body
(benchmarks/make_model.py), one call at a time, each followed by a return to the loop (where
the event is built). Blocks of ``--calls`` calls alternate between the service as shipped and
the service with one piece taken out, ``--pairs`` times; each variant's saving is the mean
difference of the loop thread's CPU per call over its pairs, with its standard error:

- ``no_event``: ``submit_later`` does nothing: no event built, queued, written or folded;
- ``not_queued``: the event is built and encoded as shipped, then dropped (no insert);
- ``not_inserted``: everything as shipped but the writer's inserts.

Pairing matters on a shared host: the CPU time of the same call moves by tens of percent from
one second to the next, far more than any of these differences.
Run against any checkout: ``PYTHONPATH=src .venv/bin/python benchmarks/event_cost.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import uvloop
from hot_path import BUILD, call, started_app

HERE = Path(__file__).parent


async def loop_cpu_per_call(predict: Callable[[], Awaitable[Any]], calls: int) -> float:
    """The loop thread's CPU microseconds per call, each call followed by a loop turn."""
    started = time.thread_time()
    for _ in range(calls):
        await predict()
        await asyncio.sleep(0)
    return (time.thread_time() - started) / calls * 1e6


@contextmanager
def taken_out(writer: Any, variant: str) -> Iterator[None]:
    """The writer with one part of the event's work replaced, for the ``with`` block."""
    loop = asyncio.get_running_loop()
    saved = dict(vars(writer))
    if variant == "no_event":
        writer.submit_later = lambda make: None
    elif variant == "not_queued":
        writer.submit_later = lambda make: loop.call_soon(lambda: writer._encode(make()))
    elif variant == "not_inserted":
        writer._insert = lambda batch: None
    else:
        raise ValueError(variant)
    try:
        yield
    finally:
        for name in ("submit_later", "_insert"):
            if name in saved:
                setattr(writer, name, saved[name])
            else:
                vars(writer).pop(name, None)


async def measure(calls: int, pairs: int, variants: list[str]) -> dict[str, Any]:
    app = await started_app("champion-event-cost-")
    body = (BUILD / "payload_champion.json").read_bytes()
    for _ in range(500):  # placement's warm-up calls, caches, the fold worker's start
        await call(app, "/v1/endpoints/bench/predict", body)
    serving = app.state.champion.serving
    instances = orjson.loads(body)["instances"]

    def predict() -> Awaitable[Any]:
        return serving.predict("bench", None, instances)

    shipped: list[float] = []
    savings: dict[str, list[float]] = {variant: [] for variant in variants}
    for _ in range(pairs):
        for variant in variants:
            whole = await loop_cpu_per_call(predict, calls)
            with taken_out(serving.writer, variant):
                less = await loop_cpu_per_call(predict, calls)
            shipped.append(whole)
            savings[variant].append(whole - less)
    await asyncio.sleep(0.5)  # the last events' flush before the app goes
    return {
        "calls_per_block": calls,
        "pairs": pairs,
        "service_us_per_call_median": round(statistics.median(shipped), 1),
        "saving_us_per_call": {
            variant: {
                "mean": round(statistics.mean(found), 1),
                "standard_error": round(statistics.stdev(found) / len(found) ** 0.5, 1),
            }
            for variant, found in savings.items()
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100, help="calls per block")
    parser.add_argument("--pairs", type=int, default=60, help="pairs of blocks per variant")
    parser.add_argument(
        "--variants", default="no_event,not_queued,not_inserted", help="comma-separated"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results" / "event_cost.json")
    args = parser.parse_args()
    if not (BUILD / "champion_model").exists():
        subprocess.run([sys.executable, str(HERE / "make_model.py"), "--no-mlflow"], check=True)
    result = uvloop.run(measure(args.calls, args.pairs, args.variants.split(",")))
    result["load_average"] = os.getloadavg()
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    sys.stdout.flush()
    os._exit(0)  # the app's writer and loops are threads of this process: no need to wait


if __name__ == "__main__":
    main()
