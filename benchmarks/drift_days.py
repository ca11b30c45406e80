"""Daily drift windows: memory and time of summarising a day, and of reading stored days.

    nice -n 10 .venv/bin/python benchmarks/drift_days.py [--sizes 20000,80000,320000]
    .venv/bin/python benchmarks/drift_days.py --database postgresql://.../DB --sizes 10000000

For each size N, a fresh SQLite home gets one endpoint whose version has a reference profile
(10 numeric and 2 categorical columns from 20,000 seeded rows) and N prediction events of one
instance each, spread over one UTC day, inserted directly (the writer's bulk path would only
add time). A child process then (1) summarises the day (``DriftDays.summarise_day``: rows
streamed in chunks of 5,000 events) and reports its time and the growth of its peak RSS over
the RSS it had after warming up on a 100-event day, and (2) runs ``DriftMonitor.endpoint_drift``
over the day from the stored window, then from raw rows (the stored day deleted) and checks
both give the same verdicts.

With ``--database`` (an empty PostgreSQL database, migrated here and emptied of events
before each size) the day's events are generated inside the database by one ``INSERT ...
SELECT`` per million from ``generate_series`` (same columns and distributions; PostgreSQL's
``random()`` after ``setseed``), so 10^7 events load in minutes rather than hours.

Memory is flat when the child's peak RSS stays the same as N grows: a day keeps at most
100,000 sampled values per numeric column (8 MB for 10 columns), whatever N.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
DAY0 = datetime(2026, 3, 1, tzinfo=UTC)
NUMERIC = [f"x{i}" for i in range(10)]
CATEGORICAL = ["plan", "region"]


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {name: rng.normal(i, 1 + i / 10, n) for i, name in enumerate(NUMERIC)}
    data["plan"] = rng.choice(["a", "b", "c"], n)
    data["region"] = rng.choice([f"r{i}" for i in range(12)], n)
    return pd.DataFrame(data)


def _home(root: Path, events: int) -> str:
    """A database with one endpoint, its reference and ``events`` predictions on DAY0."""
    from champion.db import make_engine, migrate, write
    from champion.events.tables import predictions

    url = f"sqlite:///{root / 'bench.db'}"
    engine = make_engine(url)
    migrate(engine)
    _home_records(engine)
    for day, n in ((DAY0 - timedelta(days=1), 100), (DAY0, events)):
        step = 86_400 / n
        for start in range(0, n, 20_000):
            frame = _frame(min(20_000, n - start), seed=start + 1)
            records = frame.to_dict(orient="records")
            rows = [_event(day, start + i, step, record) for i, record in enumerate(records)]
            with write(engine) as conn:
                conn.execute(predictions.insert(), rows)
    engine.dispose()
    return url


def _home_records(engine: sa.Engine) -> None:
    """The endpoint and its version's reference profile."""
    from champion.db import write
    from champion.drift.profile import ReferenceProfile
    from champion.drift.tables import reference_profiles
    from champion.serving.tables import endpoints

    profile = ReferenceProfile.from_frame(_frame(20_000, 0), {"plan": "categorical"})
    with write(engine) as conn:
        conn.execute(
            endpoints.insert().values(
                name="bench", config_version=1, policy="single", params={}, salt="s",
                updated_at=DAY0, updated_by="bench",
            )
        )  # fmt: skip
        conn.execute(
            reference_profiles.insert().values(
                model="bench", version=1, profile=profile.to_dict(), output_columns=[],
                rows=profile.rows, source="bench", created_at=DAY0, created_by="bench",
            )
        )  # fmt: skip


def _postgres_home(url: str, events: int) -> str:
    """``url``'s database migrated, with one endpoint, its reference and ``events``
    predictions on DAY0 generated in SQL (100 the day before, to warm the child up)."""
    from champion.db import make_engine, migrate, write
    from champion.drift.tables import drift_day_counts, drift_days, reference_profiles
    from champion.events.partitions import make_days
    from champion.events.tables import predictions
    from champion.serving.tables import endpoints

    engine = make_engine(url)
    migrate(engine)
    make_days(engine, DAY0.date(), ahead=1)
    with write(engine) as conn:
        for table in (predictions, drift_days, drift_day_counts, reference_profiles, endpoints):
            conn.execute(sa.delete(table))
    _home_records(engine)
    numeric = ", ".join(
        f"'{name}', {i} + {1 + i / 10} * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())"
        for i, name in enumerate(NUMERIC)
    )
    instance = (
        f"jsonb_build_object({numeric}, "
        "'plan', (ARRAY['a','b','c'])[1 + floor(random() * 3)::int], "
        "'region', 'r' || floor(random() * 12)::int)"
    )
    insert = f"""
        INSERT INTO predictions (request_id, endpoint, config_version, unit, unit_randomised,
            arm, bucket, model, version, kind, inputs, outputs, latency_ms, at)
        SELECT :day || '-' || n, 'bench', 1, n::text, true, 'a', 0, 'bench', 1, 'predict',
            jsonb_build_array({instance}), '[{{}}]'::jsonb, 1.0,
            :start + n * (:step * interval '1 second')
        FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS n
    """
    chunk = 1_000_000
    for day, n in ((DAY0 - timedelta(days=1), 100), (DAY0, events)):
        for first in range(0, n, chunk):
            began = time.perf_counter()
            with write(engine) as conn:
                conn.execute(sa.text("SELECT setseed(:seed)"), {"seed": first / n / 2})
                conn.execute(
                    sa.text(insert),
                    {"day": str(day.date()), "start": day, "step": 86_400 / n,
                     "first": first, "last": min(n, first + chunk) - 1},
                )  # fmt: skip
            print(f"{day.date()}: {min(n, first + chunk):,} of {n:,} events "
                  f"({time.perf_counter() - began:.0f} s)", file=sys.stderr)  # fmt: skip
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE predictions")
    engine.dispose()
    return url


def _event(day: datetime, n: int, step: float, record: dict[Any, Any]) -> dict[str, Any]:
    return {
        "request_id": f"{day.date()}-{n}", "endpoint": "bench", "config_version": 1,
        "unit": str(n), "unit_randomised": True, "arm": "a", "bucket": 0, "model": "bench",
        "version": 1, "kind": "predict", "inputs": [record], "outputs": [{}],
        "latency_ms": 1.0, "at": day + timedelta(seconds=n * step), "fallback_from": None,
        "probability": None,
    }  # fmt: skip


def child(url: str) -> dict[str, Any]:
    from champion.clock import FixedClock
    from champion.db import make_engine, write
    from champion.drift.days import DriftDays
    from champion.drift.monitor import DriftMonitor
    from champion.drift.references import References
    from champion.drift.tables import drift_day_counts, drift_days
    from champion.registry import VersionKey

    engine = make_engine(url)
    clock = FixedClock(DAY0 + timedelta(days=2))
    references = References(engine, None, clock)  # type: ignore[arg-type]  # find() only
    days = DriftDays(engine, references, clock)
    days.summarise_day("bench", DAY0 - timedelta(days=1))  # warm up imports and caches
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    began = time.perf_counter()
    days.summarise_day("bench", DAY0)
    summarise = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    growth = peak - base

    reference = references.find(VersionKey("bench", 1))
    assert reference is not None

    class _Registry:  # endpoint_drift resolves only explicit versions, and none is given
        pass

    class _Endpoints:  # the version serving the endpoint now: its only one
        def live_version(self, endpoint: str) -> VersionKey:
            return VersionKey("bench", 1)

    monitor = DriftMonitor(engine, _Registry(), references, _Endpoints(), clock)  # type: ignore[arg-type]
    began = time.perf_counter()
    stored = monitor.endpoint_drift("bench", start=DAY0, end=DAY0 + timedelta(days=1))
    read_stored = time.perf_counter() - began
    with write(engine) as conn:
        conn.execute(sa.delete(drift_days))
        conn.execute(sa.delete(drift_day_counts))
    began = time.perf_counter()
    raw = monitor.endpoint_drift("bench", start=DAY0, end=DAY0 + timedelta(days=1))
    read_raw = time.perf_counter() - began
    assert stored.stored_days == 1 and raw.stored_days == 0
    same = [c.__dict__ for c in stored.drift.columns] == [c.__dict__ for c in raw.drift.columns]
    return {
        "summarise_s": summarise,
        "peak_rss_mb": peak,
        "peak_rss_growth_mb": growth,
        "read_stored_s": read_stored,
        "read_raw_s": read_raw,
        "same_verdicts": same,
        "rows": stored.drift.rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="20000,80000,320000")
    parser.add_argument(
        "--database", help="an empty PostgreSQL database's URL (default: a SQLite file per size)"
    )
    parser.add_argument("--out", type=Path, help="write the results here as JSON")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return
    results = []
    for n in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="drift-days-") as folder:
            began = time.perf_counter()
            url = _postgres_home(args.database, n) if args.database else _home(Path(folder), n)
            load = time.perf_counter() - began
            env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
            out = subprocess.run(
                [sys.executable, __file__, "--child", url],
                check=True, capture_output=True, text=True, env=env,
            )  # fmt: skip
            found = json.loads(out.stdout.strip().splitlines()[-1])
            results.append({"events": n, "load_s": load, **found})
            print(json.dumps(results[-1]), file=sys.stderr)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    print("| events in the day | summarise (s) | peak RSS (MB) | its growth (MB) "
          "| read stored day (s) | read raw rows (s) | same verdicts |")  # fmt: skip
    print("| ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for r in results:
        print(
            f"| {r['events']:,} | {r['summarise_s']:.1f} | {r['peak_rss_mb']:.0f} | "
            f"{r['peak_rss_growth_mb']:.0f} | "
            f"{r['read_stored_s']:.2f} | {r['read_raw_s']:.1f} | {r['same_verdicts']} |"
        )


if __name__ == "__main__":
    main()
