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
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import uvloop

HERE = Path(__file__).parent
BUILD = HERE / "build"
sys.path.insert(0, str(HERE))


async def measure(calls: int, rounds: int) -> dict[str, Any]:
    from hot_path import started_app

    import champion

    app = await started_app("champion-service-predict-")
    instances = orjson.loads((BUILD / "payload_champion.json").read_bytes())["instances"]
    serving = app.state.champion.serving
    for _ in range(1000):  # warm: placement's first calls, metric series, caches
        await serving.predict("bench", "u1", instances)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000, help="calls per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the best one is reported")
    args = parser.parse_args()
    if not (BUILD / "champion_model").exists():
        subprocess.run([sys.executable, str(HERE / "make_model.py"), "--no-mlflow"], check=True)
    print(json.dumps(uvloop.run(measure(args.calls, args.rounds))))
    sys.stdout.flush()
    os._exit(0)  # the app's writer and loops are threads of this process: no need to wait


if __name__ == "__main__":
    main()
