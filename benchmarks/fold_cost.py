"""What the fold pass costs a request, this checkout against another, in alternating runs.

A SQLite database is filled once with ``scale_traffic``'s raw rows: ``--events`` requests, one
every ``--step-ms`` (1 ms: 1,000 requests a second), one unit per ten requests, feedback on one
in ten. Each run folds a fresh copy of it in a process of its own,
as the server's fold worker does (``fold_pass`` with hour segments), from this checkout's
``src/`` or from ``--baseline DIR``'s, the two alternating ``--pairs`` times so a slow spell
of the host hits both. A run reports the process's CPU per folded row and a digest of every
table the pass left (the raw events' aside): a change that only makes the pass faster leaves
the same digest.

Run it from a worktree beside the baseline's (``git worktree add /tmp/a <rev>``, ``git worktree
add /tmp/b main``): the same code run from this repository's own checkout and from a worktree
differed by 4.4 ± 1.4 µs a row, two worktrees of the same commit by 2.6 ± 2.7
(``results/fold_cost_aa.json``):

    cd /tmp/b && <the repository>/.venv/bin/python benchmarks/fold_cost.py --baseline /tmp/a
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
ROOT = HERE.parent

# One run, in a fresh process: fold the database named by argv[1], print CPU per row and digest.
_FOLD = """
import datetime, hashlib, json, sys, time
from datetime import timedelta
sys.path.insert(0, {benchmarks!r})
from scale_traffic import stored_rows
from champion.db.engine import make_engine
from champion.events.folder import fold_pass
engine = make_engine("sqlite:///" + sys.argv[1])
started = time.process_time()
folded, left = fold_pass(engine, {now!r}, timedelta(0), timedelta(hours=1), 0)
cpu = time.process_time() - started
digest = hashlib.sha256(repr(stored_rows(engine)).encode()).hexdigest()
print(json.dumps({{"rows": folded, "left": left, "cpu_us_per_row": cpu / folded * 1e6,
                  "digest": digest}}))
"""


def _fill(path: Path, events: int, step_ms: int) -> Any:
    sys.path.insert(0, str(HERE))
    from scale_traffic import Traffic, load_raw

    from champion.db.engine import make_engine
    from champion.db.migrate import migrate

    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    traffic = Traffic(events, max(1, events // 10), timedelta(milliseconds=step_ms))
    load_raw(engine, traffic, 0, events)
    engine.dispose()
    return traffic.end + timedelta(minutes=1)


def _run(source: Path, template: Path, now: Any, tmp: Path) -> dict[str, Any]:
    copy = tmp / "fold.db"
    shutil.copyfile(template, copy)
    code = _FOLD.format(benchmarks=str(HERE), now=now)
    env = dict(os.environ, PYTHONPATH=str(source))
    done = subprocess.run(
        [sys.executable, "-c", code, str(copy)], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"the fold run from {source} failed:\n{done.stderr}")
    copy.unlink()
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True, help="a checkout to compare")
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--step-ms", type=int, default=1, help="whole milliseconds")
    parser.add_argument("--pairs", type=int, default=6)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "fold_cost.json")
    args = parser.parse_args()
    trees = {"this": ROOT / "src", "baseline": args.baseline / "src"}
    if not (trees["baseline"] / "champion").is_dir():
        parser.error(f"--baseline: {args.baseline} holds no src/champion")
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
    with tempfile.TemporaryDirectory() as tmp:
        template = Path(tmp) / "template.db"
        now = _fill(template, args.events, args.step_ms)
        for source in trees.values():  # each tree's first run compiles its bytecode: not timed
            _run(source, template, now, Path(tmp))
        for number in range(args.pairs):
            order = list(trees) if number % 2 == 0 else list(reversed(trees))
            for name in order:
                found = _run(trees[name], template, now, Path(tmp))
                runs[name].append(found)
                print(f"pair {number + 1} {name}: {found['cpu_us_per_row']:.1f} µs/row",
                      file=sys.stderr)  # fmt: skip
    differences = [
        b["cpu_us_per_row"] - a["cpu_us_per_row"]
        for a, b in zip(runs["this"], runs["baseline"], strict=True)
    ]
    digests = {name: sorted({r["digest"] for r in found}) for name, found in runs.items()}
    result = {
        "events": args.events,
        "step_ms": args.step_ms,
        "rows_folded": runs["this"][0]["rows"],
        "cpu_us_per_row_median": {
            name: round(statistics.median(r["cpu_us_per_row"] for r in found), 1)
            for name, found in runs.items()
        },
        "saving_us_per_row": {
            "mean": round(statistics.mean(differences), 1),
            "standard_error": round(statistics.stdev(differences) / len(differences) ** 0.5, 1),
        },
        "same_tables": digests["this"] == digests["baseline"] and len(digests["this"]) == 1,
        "runs": runs,
        "load_average": os.getloadavg(),
    }
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))


if __name__ == "__main__":
    main()
