"""The cost of ``ServingService.predict`` alone, in process: best of several rounds.

The serving benchmark's model (a 20-feature LogisticRegression, benchmarks/make_model.py) is
registered on SQLite and served by a ``single`` endpoint; the app's lifespan runs (event writer,
metrics) and ``await serving.predict(...)`` is called ``--calls`` times per round on uvloop,
one call at a time. Printed per round and for the best one (the least disturbed by a busy
host): the mean wall time per call, and the mean CPU time per call of the thread that runs the
event loop (the request path's own work: the event writer's thread is not in it, and other
processes on the host inflate it far less than wall time). Two checkouts compare by running
this alternately with each one's sources first on the path:
``PYTHONPATH=src nice -n 10 .venv/bin/python benchmarks/service_predict.py``.

With ``--count-calls N``, nothing is timed: the calls into champion's own functions that N
requests make on the event loop's thread are counted, per request and per function. Unlike
time, the count does not depend on the host, so it shows what a change adds to the request
path exactly (a model call placed inline counts ``timed`` once more than one sent to threads).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

import orjson
import uvloop

HERE = Path(__file__).parent
BUILD = HERE / "build"
sys.path.insert(0, str(HERE))


async def measure(calls: int, rounds: int, count_calls: int) -> dict[str, Any]:
    from hot_path import started_app

    import champion

    app = await started_app("champion-service-predict-")
    instances = orjson.loads((BUILD / "payload_champion.json").read_bytes())["instances"]
    serving = app.state.champion.serving
    for _ in range(1000):  # warm: placement's first calls, metric series, caches
        await serving.predict("bench", "u1", instances)
    if count_calls:
        return await _count(serving, instances, count_calls)
    wall, cpu = [], []
    for _ in range(rounds):
        started, started_cpu = time.perf_counter(), time.thread_time()
        for _ in range(calls):
            await serving.predict("bench", "u1", instances)
        cpu.append(round((time.thread_time() - started_cpu) / calls * 1e6, 2))
        wall.append(round((time.perf_counter() - started) / calls * 1e6, 2))
    return {
        "source": str(Path(champion.__file__).parent),
        "calls_per_round": calls,
        "wall_us_per_call": wall,
        "wall_us_per_call_best": min(wall),
        "cpu_us_per_call": cpu,
        "cpu_us_per_call_best": min(cpu),
        "load_average": os.getloadavg(),
    }


async def _count(serving: Any, instances: Any, requests: int) -> dict[str, Any]:
    import champion

    home = str(Path(champion.__file__).parent)
    counted: Counter[str] = Counter()

    def profile(frame: FrameType, event: str, arg: object) -> None:
        code = frame.f_code
        if event == "call" and code.co_filename.startswith(home):
            module = code.co_filename[len(home) + 1 : -3].replace("/", ".")
            counted[f"{module}:{code.co_qualname}"] += 1

    sys.setprofile(profile)
    try:
        for _ in range(requests):
            await serving.predict("bench", "u1", instances)
    finally:
        sys.setprofile(None)
    return {
        "source": home,
        "requests": requests,
        "champion_calls_per_request": round(sum(counted.values()) / requests, 2),
        "per_request": {
            name: round(count / requests, 2) for name, count in sorted(counted.items())
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000, help="calls per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the best one is reported")
    parser.add_argument(
        "--count-calls",
        type=int,
        default=0,
        metavar="N",
        help="count champion's function calls over N requests instead of timing",
    )
    args = parser.parse_args()
    if not (BUILD / "champion_model").exists():
        subprocess.run([sys.executable, str(HERE / "make_model.py"), "--no-mlflow"], check=True)
    print(json.dumps(uvloop.run(measure(args.calls, args.rounds, args.count_calls))))
    sys.stdout.flush()
    os._exit(0)  # the app's writer and loops are threads of this process: no need to wait


if __name__ == "__main__":
    main()
