"""What work beside a server costs its p99 at one connection on this host, whatever the server.

The ``async def`` FastAPI endpoint (``run.py``'s bare_async: no database, no background work
of its own) is timed with ``wrk -t1 -c1`` while a separate process does nothing but burn CPU
in bursts: ``burst`` milliseconds of CPU every ``period`` milliseconds, the shape of a
writer's flush or a fold pass. Shapes alternate within each round, so a slow spell of the
host hits them alike; each is reported against the same rounds' endpoint alone (``none``).

At one connection the endpoint alone keeps a core busy (0.33 ms of CPU a request, 2,900
requests a second) and wrk runs on the other, so a burst has no idle core to run on: how
much of the p99 target (1.25x) is left to a server that stores and folds every prediction,
before its own code runs at all.

Run from the repository root on a quiet host (about 4 minutes with the defaults):

    .venv/bin/python benchmarks/background_tail.py --rounds 3 --duration 8
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

import run  # noqa: E402

# name: (burst ms, period ms, priority); none: no burner. Priorities: "default"; "sched_idle"
# (the burner under SCHED_IDLE); "nice19" (nice 19, in the benchmark's own session, beside wrk);
# "own_group_nice19" (a session of its own, whose autogroup is at nice 19: where the kernel
# groups processes by session, as this host's does, nice alone only orders a session's own).
SHAPES: dict[str, tuple[float, float, str] | None] = {
    "none": None,
    "11ms_every_200ms": (11, 200, "default"),
    "5ms_every_200ms": (5, 200, "default"),
    "2ms_every_200ms": (2, 200, "default"),
    "2ms_every_40ms": (2, 40, "default"),
    "1ms_every_20ms": (1, 20, "default"),
    "160ms_every_2s": (160, 2000, "default"),
    "11ms_every_200ms_sched_idle": (11, 200, "sched_idle"),
    "2ms_every_40ms_nice19": (2, 40, "nice19"),
    "2ms_every_40ms_own_group_nice19": (2, 40, "own_group_nice19"),
    "160ms_every_2s_own_group_nice19": (160, 2000, "own_group_nice19"),
}


def burn(burst_ms: float, period_ms: float, priority: str) -> None:
    """Burn ``burst_ms`` of CPU, sleep out the rest of ``period_ms``, forever."""
    if priority == "sched_idle":
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    elif priority == "nice19":
        os.nice(19)
    elif priority == "own_group_nice19":
        os.setsid()
        Path("/proc/self/autogroup").write_text("19")
    while True:
        started = time.thread_time()
        while (time.thread_time() - started) * 1000 < burst_ms:
            pass
        time.sleep((period_ms - burst_ms) / 1000)


def _round(shape: tuple[float, float, str] | None, duration: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        server = run.start("bare_async", Path(tmp))
        burner = None
        try:
            run.check_answer(server)
            if shape is not None:
                burner = multiprocessing.get_context("spawn").Process(
                    target=burn, args=shape, daemon=True
                )
                burner.start()
            run.wrk(server, 1, run.WARMUP_SECONDS)
            found = run.wrk(server, 1, duration)
        finally:
            if burner is not None:
                burner.kill()
                burner.join()
            run.stop(server)
    found.pop("wrk_output", None)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    run.round_options(parser, "background_tail.json")
    parser.add_argument("--only", help="comma-separated shapes (default: all; none always)")
    args = parser.parse_args()
    names = list(SHAPES)
    if args.only:
        names = ["none", *(n for n in args.only.split(",") if n != "none")]
        unknown = sorted(set(names) - set(SHAPES))
        if unknown:
            parser.error(f"--only: unknown shapes {unknown}; known: {', '.join(SHAPES)}")
    subprocess.run([sys.executable, str(HERE / "make_model.py"), "--no-mlflow"], check=True)
    rounds = run.interleaved(names, args.rounds, lambda name: _round(SHAPES[name], args.duration))
    alone = statistics.median(r["p99_ms"] for r in rounds["none"])
    summary = {
        name: {
            "burst_ms_period_ms_priority": SHAPES[name],
            "p50_ms": statistics.median(r["p50_ms"] for r in found),
            "p99_ms": statistics.median(r["p99_ms"] for r in found),
            "p99_ms_each": [r["p99_ms"] for r in found],
            "requests_per_second": statistics.median(r["requests_per_second"] for r in found),
            "p99_over_none": round(statistics.median(r["p99_ms"] for r in found) / alone, 2),
        }
        for name, found in rounds.items()
    }
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps({"summary": summary, "rounds": rounds}, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
