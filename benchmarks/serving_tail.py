"""Where champion's p99 at one connection comes from: the same server with its background
work turned off piece by piece, against the ``async def`` FastAPI endpoint, in one run.

Each round starts a fresh server per variant (``run.py``'s champion and bare_async: the
same model, payload and wrk settings), warms it for 2 s (``--warmup``), then times ``wrk
-t1 -c1`` for ``--duration`` seconds; variants alternate within a round so a slow spell of
the host hits them alike (``--connections 32`` asks the same of a busy server). Variants
(settings as environment variables):

- ``champion``: the defaults (events flushed every 0.2 s, state polled every 0.5 s, the
  controller, fold, alert, readiness and retention loops);
- ``flush_1s``, ``flush_5s``: events flushed every second or every 5 s, the rest as default;
- ``fold_10s``: the fold pass every 10 s with 5,000 requests left raw (the defaults before
  it ran in a worker process: no pass falls within a run of 8 s); ``no_fold``: none;
- ``no_flush``: events kept in the queue for the run (flushed every 60 s, a queue that holds
  them all), the rest as default;
- ``no_flush_no_poll``: that, and the state polled every 60 s;
- ``quiet``: every background loop off or slowed to once a minute, events not flushed;
- ``baseline``: with ``--baseline DIR``, the defaults run from another checkout's ``src/``
  (e.g. ``git worktree add /tmp/base main``), interleaved with this one's.

Each champion round also records ``events_logged``: the predictions its ``/stats`` counts a
second after the run, so an A/B can check that every timed request's event was stored.

Run from the repository root on a quiet host (about 4 minutes with the defaults):

    .venv/bin/python benchmarks/serving_tail.py --rounds 3 --duration 8
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

import run  # noqa: E402

_NO_FLUSH = {"CHAMPION_EVENT_FLUSH_SECONDS": "60", "CHAMPION_EVENT_QUEUE_SIZE": "200000"}
_QUIET = {
    "CHAMPION_STATE_POLL_SECONDS": "60",
    "CHAMPION_READY_CHECK_SECONDS": "60",
    "CHAMPION_ALERT_INTERVAL_SECONDS": "600",
    "CHAMPION_CONTROLLER": "false",
    "CHAMPION_SCHEDULER": "false",
    "CHAMPION_FOLD_INTERVAL_SECONDS": "0",
    "CHAMPION_DRIFT_DAYS_INTERVAL_SECONDS": "0",
    "CHAMPION_RETENTION_INTERVAL_SECONDS": "3600",
}
VARIANTS: dict[str, dict[str, str]] = {
    "champion": {},
    "flush_1s": {"CHAMPION_EVENT_FLUSH_SECONDS": "1"},
    "flush_5s": {"CHAMPION_EVENT_FLUSH_SECONDS": "5"},
    "fold_10s": {"CHAMPION_FOLD_INTERVAL_SECONDS": "10", "CHAMPION_FOLD_MAX_RAW": "5000"},
    "no_fold": {"CHAMPION_FOLD_INTERVAL_SECONDS": "0"},
    "no_flush": _NO_FLUSH,
    "no_flush_no_poll": _NO_FLUSH | {"CHAMPION_STATE_POLL_SECONDS": "60"},
    "quiet": _NO_FLUSH | _QUIET,
    "bare_async": {},
}


def _round(
    name: str, environment: dict[str, str], duration: int, connections: int, warmup: int
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        saved = dict(os.environ)
        os.environ.update(environment)
        try:
            server = run.start("bare_async" if name == "bare_async" else "champion", Path(tmp))
        finally:
            os.environ.clear()
            os.environ.update(saved)
        try:
            run.check_answer(server)
            run.wrk(server, connections, warmup)
            found = run.wrk(server, connections, duration)
            if name != "bare_async":
                found["events_logged"] = run.champion_logged(server)
        finally:
            run.stop(server)
    found.pop("wrk_output", None)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    run.round_options(parser, "serving_tail.json")
    parser.add_argument("--only", help="comma-separated variants (default: all)")
    parser.add_argument("--connections", type=int, default=1, help="wrk's -c")
    parser.add_argument(
        "--warmup", type=int, default=run.WARMUP_SECONDS, help="seconds of load before timing"
    )
    parser.add_argument(
        "--baseline", type=Path, help="a checkout whose src/ runs as the variant 'baseline'"
    )
    args = parser.parse_args()
    variants = dict(VARIANTS)
    if args.baseline is not None:
        if not (args.baseline / "src" / "champion").is_dir():
            parser.error(f"--baseline: {args.baseline} holds no src/champion")
        variants["baseline"] = {"PYTHONPATH": str((args.baseline / "src").resolve())}
    if args.only:
        names = args.only.split(",")
        unknown = sorted(set(names) - set(variants) | ({"bare_async"} - set(names)))
        if unknown:
            parser.error(f"--only: unknown variants or bare_async missing: {unknown}")
        variants = {name: variants[name] for name in names}
    subprocess.run([sys.executable, str(HERE / "make_model.py"), "--no-mlflow"], check=True)
    rounds = run.interleaved(
        variants,
        args.rounds,
        lambda name: _round(name, variants[name], args.duration, args.connections, args.warmup),
    )
    baseline = statistics.median(r["p99_ms"] for r in rounds["bare_async"])
    summary = {
        name: {
            "p50_ms": statistics.median(r["p50_ms"] for r in found),
            "p99_ms": statistics.median(r["p99_ms"] for r in found),
            "p99_ms_each": [r["p99_ms"] for r in found],
            "requests_per_second": statistics.median(r["requests_per_second"] for r in found),
            "p99_over_bare_async": statistics.median(r["p99_ms"] for r in found) / baseline,
        }
        for name, found in rounds.items()
    }
    result = {
        "connections": args.connections,
        "variants": variants,
        "summary": summary,
        "rounds": rounds,
    }
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
