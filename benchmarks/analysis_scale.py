"""How long an experiment report and /stats take over many events, read raw or from rollups.

Prediction and feedback rows for one canary endpoint (two arms, a unit per ten requests or
``--units``, a request a second or every ``--step-ms``, a click on one request in ten, a
purchase on one in fifty; see ``scale_traffic.py``) are generated inside the database (an
``INSERT ... SELECT`` over a row series: the rows the writer would store), then timed, each
the median of ``--repeat`` runs:

- ``report raw`` / ``stats raw``: nothing folded, so every read computes every request's
  facts from its raw rows (what a server with ``CHAMPION_FOLD_INTERVAL_SECONDS=0`` does);
- ``fold``: one pass over everything (``champion.events.fold``: what the server's loop and
  ``champion admin rebuild-aggregates`` do), rows per second;
- ``report folded`` / ``stats folded``: every request folded; 1,000 fresh requests and their
  clicks stay raw, as a running server's last minute would.

The report is ``analyse`` over the experiment's window with the full metric set (what
``GET /v1/endpoints/{endpoint}/experiment`` computes); ``/stats`` is ``version_stats`` over
all time; the timeline is the 12 cumulative looks of ``GET .../experiment/timeline``
(``looks``); a controller tick is ``analyse`` with only the metrics the design uses (what
the rollout controller computes for each running experiment every 10 s). ``--keep`` keeps
the SQLite file and ``--reuse`` times the reads again over a kept database without loading
and folding it again (a database folded before the kept unit totals existed gets them
rebuilt from its rollups first, timed as ``rebuild_totals_seconds``). ``--segment-seconds``
is the segment length the fold uses (the server's ``CHAMPION_ROLLUP_SEGMENT_SECONDS``; the
default here is a day, as the results before the hour default were measured).

``--bulk`` (PostgreSQL) stores no raw rows and folds nothing: it writes the aggregates the
fold would leave straight from the generated stream (``scale_traffic.write_aggregates``), so
10^8 events need neither 80 GB of raw rows nor hours of folding. ``--check-bulk`` proves the
two paths equal at ``--events``: it folds the raw traffic, then writes the bulk aggregates
of the same traffic, and compares every table but the raw events', row for row. Run from the
repository root:

    nice -n 10 .venv/bin/python benchmarks/analysis_scale.py --events 1000000
    nice -n 10 .venv/bin/python benchmarks/analysis_scale.py --events 1000000 \\
        --database postgresql://postgres:champion@127.0.0.1:5432/bench
    .venv/bin/python benchmarks/analysis_scale.py --check-bulk --events 200000 --units 2000 \\
        --step-ms 6048 --database postgresql://postgres:champion@127.0.0.1:5432/check
    .venv/bin/python benchmarks/analysis_scale.py --bulk --events 100000000 --units 1000000 \\
        --step-ms 12.096 --database postgresql://postgres:champion@127.0.0.1:5432/bench1e8
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from scale_traffic import (  # noqa: E402
    ENDPOINT,
    START,
    Traffic,
    check_bulk,
    empty,
    load_raw,
    write_aggregates,
)

from champion.db import read, write  # noqa: E402
from champion.db.engine import make_engine  # noqa: E402
from champion.db.migrate import migrate  # noqa: E402
from champion.evaluation.analysis import analyse  # noqa: E402
from champion.evaluation.arms import experiment_arms  # noqa: E402
from champion.evaluation.design import parse_design  # noqa: E402
from champion.evaluation.timeline import looks  # noqa: E402
from champion.events import fold, version_stats  # noqa: E402
from champion.events.arms import ArmWindow  # noqa: E402
from champion.events.totals import built  # noqa: E402
from champion.events.totals_rebuild import rebuild_totals  # noqa: E402
from champion.registry.entities import VersionKey  # noqa: E402
from champion.serving.policies import CanaryPolicy  # noqa: E402

VERSIONS = {"m@champion": VersionKey("m", 1), "m@challenger": VersionKey("m", 2)}
PARAMS = {"champion": "m@champion", "challenger": "m@challenger", "share": 0.5}


def _median(work: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _fill(
    engine: sa.Engine,
    args: argparse.Namespace,
    traffic: Traffic,
    found: dict[str, Any],
    report: Callable[[], None],
    stats: Callable[[], None],
) -> None:
    empty(engine)
    now = traffic.end + timedelta(hours=1)
    segment = timedelta(seconds=args.segment_seconds)
    started = time.perf_counter()
    if args.bulk:
        found["rollup_rows"] = write_aggregates(engine, traffic, now, segment, _progress)
        found["bulk_seconds"] = time.perf_counter() - started
    else:
        load_raw(engine, traffic, 0, traffic.events)
        found["load_seconds"] = time.perf_counter() - started
        if not args.skip_raw:
            found["report_raw_seconds"] = _median(report, args.repeat)
            found["stats_raw_seconds"] = _median(stats, args.repeat)
        started = time.perf_counter()
        rows = fold(engine, now, segment=segment)
        found["fold_seconds"] = time.perf_counter() - started
        found["fold_rows_per_second"] = rows / found["fold_seconds"]
    # A running server's last minute: fresh requests and clicks not folded yet.
    load_raw(engine, traffic, traffic.events, 1_000)


def _progress(stage: str, done: int, of: int) -> None:
    print(f"\r{stage}: {done:,} of {of:,}", end="\n" if done >= of else "", file=sys.stderr)


def _snapped(conn: sa.Connection, points: list[datetime]) -> list[datetime]:
    try:
        from champion.events.cuts import snap_back
    except ImportError:
        return points
    return snap_back(conn, ENDPOINT, points, START)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="Prediction events.")
    parser.add_argument("--database", default=None, help="A PostgreSQL URL (default: SQLite).")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--segment-seconds",
        type=int,
        default=86_400,
        help="The rollup segment the fold uses (CHAMPION_ROLLUP_SEGMENT_SECONDS).",
    )
    parser.add_argument("--skip-raw", action="store_true", help="Time only the folded reads.")
    parser.add_argument(
        "--units", type=int, default=None, help="Units (default: one per ten requests)."
    )
    parser.add_argument(
        "--step-ms", type=float, default=1000.0, help="Milliseconds between requests."
    )
    parser.add_argument(
        "--bulk",
        action="store_true",
        help="Write the aggregates the fold would add, without raw rows (PostgreSQL; see "
        "scale_traffic.py).",
    )
    parser.add_argument(
        "--check-bulk",
        action="store_true",
        help="Compare every table --bulk leaves with those the fold leaves, then stop.",
    )
    parser.add_argument("--out", type=Path, default=HERE / "results" / "analysis_scale.json")
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="SQLite file to keep (default: a temporary one); with --reuse, PostgreSQL keeps its "
        "rows anyway.",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="Time the reads over the rows a previous run with the same --events left (folded, "
        "plus the 1,000 fresh requests), without loading or folding again.",
    )
    args = parser.parse_args()
    if (args.bulk or args.check_bulk) and args.database is None:
        parser.error("--bulk and --check-bulk need --database (a PostgreSQL URL)")
    traffic = Traffic(
        args.events,
        args.units or max(1, args.events // 10),
        timedelta(milliseconds=args.step_ms),
    )
    design = parse_design({"goal": "click_rate", "min_sample": 100})
    arms = experiment_arms(ENDPOINT, CanaryPolicy, PARAMS, VERSIONS.__getitem__)
    window = ArmWindow(ENDPOINT, arms.logged_arms, 1, START, None)

    def report() -> None:
        with read(engine) as conn:
            analyse(conn, design, arms, window, full=True)

    def stats() -> None:
        with read(engine) as conn:
            version_stats(conn, ENDPOINT)

    def timeline() -> None:
        span = traffic.end + 1_000 * traffic.step - START
        points = [START + span * (k / 12) for k in range(1, 12)]
        with read(engine) as conn:
            # As the route moves them (a checkout from before it keeps them evenly spaced).
            ends: list[datetime | None] = [*_snapped(conn, points), None]
            looks(conn, design, arms, window, ends)

    def tick() -> None:
        with read(engine) as conn:
            analyse(conn, design, arms, window, full=False)

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{args.keep or Path(tmp) / 'bench.db'}"
        engine = make_engine(url)
        migrate(engine)
        found: dict[str, Any] = {
            "database": engine.dialect.name,
            "events": args.events,
            "units": traffic.units,
            "step_ms": args.step_ms,
            "segment_seconds": args.segment_seconds,
        }
        if args.check_bulk:
            found |= check_bulk(engine, traffic, timedelta(seconds=args.segment_seconds))
        elif args.reuse:
            with read(engine) as conn:
                logged = conn.exec_driver_sql("SELECT count(*) FROM predictions").scalar_one()
            if logged != args.events + 1_000:
                parser.error(f"--reuse needs {args.events + 1_000} predictions; found {logged}.")
            # Folded by a version without the kept totals: what an upgrade runs once.
            with write(engine) as conn:
                if not built(conn):
                    started = time.perf_counter()
                    found["rebuild_totals_rows"] = rebuild_totals(conn)
                    found["rebuild_totals_seconds"] = time.perf_counter() - started
        else:
            _fill(engine, args, traffic, found, report, stats)
        if not args.check_bulk:
            found["report_folded_seconds"] = _median(report, args.repeat)
            found["stats_folded_seconds"] = _median(stats, args.repeat)
            found["timeline_folded_seconds"] = _median(timeline, args.repeat)
            found["tick_folded_seconds"] = _median(tick, args.repeat)
        engine.dispose()
    print(json.dumps(found, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(found, indent=2) + "\n")


if __name__ == "__main__":
    main()
