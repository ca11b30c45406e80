"""Where a soaking server's memory goes: its RSS beside what Python itself holds.

    nice -n 5 .venv/bin/python benchmarks/soak_memory.py --minutes 14

The server of ``soak_retention.py`` (same settings: events and unit rollups kept 5 minutes,
5-minute segments, passes every 60 s, fold lag 60 s) runs in this process under uvicorn, with
``tracemalloc`` started once it is up (so the imports are not traced); the same open-loop load
(30 predictions/s, 10 clicks/s) comes from a child process. Every minute it prints the RSS,
the memory ``tracemalloc`` sees allocated and alive, the interpreter's allocated blocks and
the number of objects the garbage collector tracks, and at the end the ten allocation sites
that grew most between minute 3 and the last minute.

If the RSS rises while the traced memory and the blocks stay flat, the growth is not objects
Python keeps alive (no leak in champion's code or its libraries' Python objects) but memory the
C allocator keeps once it was used: SQLite's page cache of each pooled connection, glibc's
per-thread arenas, buffers that served the largest backlog so far.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

SETTINGS = {
    "CHAMPION_KEEP_PREDICTIONS": "5m",
    "CHAMPION_KEEP_FEEDBACK": "5m",
    "CHAMPION_KEEP_UNIT_ROLLUPS": "5m",
    "CHAMPION_ROLLUP_SEGMENT_SECONDS": "300",
    "CHAMPION_RETENTION_INTERVAL_SECONDS": "60",
    "CHAMPION_FOLD_INTERVAL_SECONDS": "10",
    "CHAMPION_FOLD_LAG_SECONDS": "60",
    "CHAMPION_DRIFT_DAYS_INTERVAL_SECONDS": "0",
    "CHAMPION_ALLOW_CODE_UPLOADS": "false",
}


def _load(url: str, seconds: float) -> None:
    import httpx
    import soak_retention as soak

    async def run() -> None:
        load = soak.Load(url, 30.0, 10.0, 50_000)
        async with httpx.AsyncClient(headers=soak.HEADERS, timeout=60) as client:
            await load.run(client, time.monotonic() + seconds)

    asyncio.run(run())


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=14)
    args = parser.parse_args()
    os.environ.update(SETTINGS)
    import soak_retention as soak
    import uvicorn

    from champion.api import create_app
    from champion.server_process import free_port
    from champion.settings import Settings

    home = Path(tempfile.mkdtemp(prefix="soak-memory-"))
    try:
        soak._setup(home, None)
        port = free_port()
        config = uvicorn.Config(
            create_app(Settings(home=home)), host="127.0.0.1", port=port, log_level="warning"
        )
        server = uvicorn.Server(config)
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.1)
        tracemalloc.start(8)
        load = multiprocessing.get_context("spawn").Process(
            target=_load, args=(f"http://127.0.0.1:{port}", 60.0 * args.minutes)
        )
        load.start()
        started, first = time.monotonic(), None
        for minute in range(1, args.minutes + 1):
            time.sleep(max(0.0, started + 60 * minute - time.monotonic()))
            gc.collect()
            traced, _ = tracemalloc.get_traced_memory()
            row = {
                "minute": minute,
                "rss_mib": round(_rss_mib(), 1),
                "traced_mib": round(traced / 2**20, 2),
                "blocks": sys.getallocatedblocks(),
                "objects": len(gc.get_objects()),
                "load_1m": round(os.getloadavg()[0], 1),
            }
            print(json.dumps(row), flush=True)
            if minute == 3:
                first = tracemalloc.take_snapshot()
        load.join()
        if first is not None:
            print("Allocation sites that grew most since minute 3:")
            for stat in tracemalloc.take_snapshot().compare_to(first, "lineno")[:10]:
                print(" ", stat)
        server.should_exit = True
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
