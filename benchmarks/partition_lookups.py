"""What day partitions cost a lookup by request id alone, on PostgreSQL.

    nice -n 10 .venv/bin/python benchmarks/partition_lookups.py --database-url URL \\
        [--days 35] [--per-day 20000]

It makes a scratch database beside ``URL``'s, migrates it, and fills ``--days`` day
partitions of ``predictions`` and ``prediction_items`` (3 items a request) with
``--per-day`` requests each, plus the same rows in plain (unpartitioned) copies with the
same keys and indexes. Then it times, on both, the queries that find requests by id without
a time: the fold pass reading 500 requests and their items (``rollups.load_raw``) and
feedback joined to its request (the fold pass's late clicks, retention's "request kept"),
each the median of ``--repeat`` runs over fresh random ids, and prints the plans' shape.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from champion.db import make_engine, migrate
from champion.events.partitions import make_days

_BOUNDED = " AND at BETWEEN :lo AND :hi"
QUERIES = {
    # Ids spread over every day kept: what a lookup by id alone costs.
    "500 requests by id, any day": (
        "SELECT request_id, endpoint, unit, at, folded FROM {p} WHERE request_id = ANY(:ids)",
        False,
    ),
    "their shown items": (
        "SELECT * FROM {i} WHERE request_id = ANY(:ids) ORDER BY position",
        False,
    ),
    "500 clicks joined to their request": (
        "SELECT f.request_id, p.at FROM unnest(CAST(:ids AS text[])) AS f(request_id) "
        "JOIN {p} p ON p.request_id = f.request_id",
        False,
    ),
    # 500 requests served one after another, looked up with their first and last time, as
    # the fold pass and the reports' pending facts do (``rollups.load_raw(within=...)``).
    "500 consecutive requests, id + time": (
        "SELECT request_id, endpoint, unit, at, folded FROM {p} WHERE request_id = ANY(:ids)"
        + _BOUNDED,
        True,
    ),
    "their shown items, id + time": (
        "SELECT * FROM {i} WHERE request_id = ANY(:ids)" + _BOUNDED + " ORDER BY position",
        True,
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--days", type=int, default=35)
    parser.add_argument("--per-day", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    name = f"champion_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(
        args.database_url.replace("postgresql://", "postgresql+psycopg://", 1),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    url = sa.make_url(args.database_url).set(database=name).render_as_string(False)
    engine = make_engine(url)
    try:
        run(engine, args.days, args.per_day, args.repeat)
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE {name} WITH (FORCE)"))


def run(engine: sa.Engine, days: int, per_day: int, repeat: int) -> None:
    migrate(engine)
    last = datetime.now(UTC).date()
    first = last - timedelta(days=days - 1)
    started = time.perf_counter()
    for n in range(days):
        make_days(engine, first + timedelta(days=n), ahead=0)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO predictions (request_id, endpoint, config_version, unit, "
                "unit_randomised, arm, model, version, kind, inputs, outputs, latency_ms, at) "
                "SELECT 'r' || g, 'recs', 1, 'u' || (g % 5000), false, 'champion', 'recs', 1, "
                "'rank', '{}', '[]', 1.0, CAST(:first AS timestamptz) + g * CAST(:step AS interval)"
                " FROM generate_series(0, :n - 1) g"
            ),
            {"first": first.isoformat(), "step": f"{86400 / per_day} seconds", "n": days * per_day},
        )
        conn.execute(
            sa.text(
                "INSERT INTO prediction_items (request_id, position, item, model, version, at) "
                "SELECT request_id, k, 'item' || k, 'recs', 1, at FROM predictions, "
                "generate_series(1, 3) k"
            )
        )
        for table, key in (
            ("predictions", "request_id"),
            ("prediction_items", "request_id, position"),
        ):
            conn.execute(sa.text(f"CREATE TABLE {table}_plain AS SELECT * FROM {table}"))
            conn.execute(sa.text(f"ALTER TABLE {table}_plain ADD PRIMARY KEY ({key})"))
        conn.execute(sa.text("CREATE INDEX ON prediction_items_plain (request_id, item)"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    print(
        f"{days} days x {per_day:,} requests (+3 items each), loaded in "
        f"{time.perf_counter() - started:.0f} s"
    )
    rng = random.Random(7)
    total = days * per_day
    step = timedelta(seconds=86400 / per_day)
    start = datetime.combine(first, datetime.min.time(), UTC)

    def pick(consecutive: bool) -> dict[str, Any]:
        if not consecutive:
            return {"ids": [f"r{rng.randrange(total)}" for _ in range(500)]}
        k = rng.randrange(total - 500)
        return {
            "ids": [f"r{n}" for n in range(k, k + 500)],
            "lo": start + k * step,
            "hi": start + (k + 499) * step,
        }

    print(f"{'query':38} {'partitioned ms':>15} {'plain ms':>9}   plan (partitioned)")
    for label, (sql, consecutive) in QUERIES.items():
        timings, shape = {}, ""
        for kind, (p, i) in {
            "partitioned": ("predictions", "prediction_items"),
            "plain": ("predictions_plain", "prediction_items_plain"),
        }.items():
            query = sa.text(sql.format(p=p, i=i))
            runs = []
            with engine.connect() as conn:
                for _ in range(repeat):
                    params = pick(consecutive)
                    began = time.perf_counter()
                    conn.execute(query, params).all()
                    runs.append((time.perf_counter() - began) * 1000)
                if kind == "partitioned":
                    plan = conn.execute(sa.text(f"EXPLAIN {query.text}"), params).scalars()
                    shape = _shape(list(plan))
            timings[kind] = statistics.median(runs)
        print(f"{label:38} {timings['partitioned']:15.1f} {timings['plain']:9.1f}   {shape}")


def _shape(plan: list[str]) -> str:
    scans = [
        line.strip().lstrip("-> ").split(" on ")[0].split(" using ")[0]
        for line in plan
        if " on " in line
    ]
    kinds = sorted(set(scans))
    return f"{len(scans)} scans: " + ", ".join(f"{k} x{scans.count(k)}" for k in kinds)


if __name__ == "__main__":
    main()
