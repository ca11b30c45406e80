"""PostgreSQL: the event writer's inserts and the fold pass, reading their bound JSON array
as ``json`` against ``jsonb`` (what ``champion.db.dialects`` uses), alternately, in one run.

Every batch the writer commits and every sum the fold pass adds is one statement that reads
its rows from one bound JSON array (``insert_encoded``, ``SumUpsert``). ``json``'s ``->>``
parses a row's text again for each column it reads; ``jsonb`` parses the array once.

    .venv/bin/python benchmarks/postgres_json_source.py \\
        --database postgresql://postgres:champion@127.0.0.1:5432/postgres

The script makes (and drops) a database ``json_source_bench`` on that server. Per round and
source: 10 batches of 2,000 prediction events inserted as the writer does, then those 20,000
folded (``rollups.fold``) into rollups that already hold the earlier rounds' rows.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "src"))

import champion.db.dialects as dialects  # noqa: E402
from champion.db import make_engine, migrate, write  # noqa: E402
from champion.events.partitions import make_days  # noqa: E402
from champion.events.rollups import fold  # noqa: E402
from champion.events.tables import predictions  # noqa: E402

DATABASE = "json_source_bench"
BATCHES, BATCH = 10, 2_000


def _events(at: datetime, first: int) -> list[dict[str, Any]]:
    return [_event(at, first, i) for i in range(BATCH)]


def _event(at: datetime, first: int, i: int) -> dict[str, Any]:
    return {
        "request_id": uuid.uuid4().hex, "endpoint": "e", "config_version": 1,
        "unit": f"u{(first + i) % 50_000}", "unit_randomised": True, "arm": "champion",
        "bucket": i % 100, "model": "m", "version": 1, "kind": "predict",
        "inputs": [{"a": 0.1 * i, "b": -0.3, "c": 1.2, "plan": "x"}],
        "outputs": [{"label": 1, "probabilities": [0.2, 0.8]}],
        "latency_ms": 1.5, "at": at + timedelta(microseconds=i), "fallback_from": None,
        "probability": 0.5, "client_request_id": None, "trace_id": None, "stage": None,
    }  # fmt: skip


def _round(engine: sa.Engine, kind: str, number: int) -> dict[str, float]:
    dialects._POSTGRES_SOURCE = f"{kind}_array_elements(%s::{kind}) AS e"
    dialects.sum_upsert.cache_clear()  # its statements are built once per table
    encoder = dialects.RowEncoder(predictions, "postgresql")
    at = datetime.now(UTC) - timedelta(hours=1)
    batches = [
        [encoder(row) for row in _events(at, (number * BATCHES + b) * BATCH)]
        for b in range(BATCHES)
    ]
    started = time.perf_counter()
    for batch in batches:
        with write(engine) as conn:
            dialects.insert_encoded(conn, encoder, batch)
    inserted = time.perf_counter() - started
    started = time.perf_counter()
    folded = fold(engine, datetime.now(UTC), segment=timedelta(hours=1))
    folding = time.perf_counter() - started
    assert folded == BATCHES * BATCH, folded
    return {"insert_rows_per_s": folded / inserted, "fold_rows_per_s": folded / folding}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="a PostgreSQL server's URL")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "postgres_json_source.json")
    args = parser.parse_args()
    admin = sa.create_engine(args.database, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {DATABASE}")
        conn.exec_driver_sql(f"CREATE DATABASE {DATABASE}")
    url = sa.make_url(args.database).set(database=DATABASE)
    engine = make_engine(url.render_as_string(hide_password=False))
    rounds: dict[str, list[dict[str, float]]] = {"json": [], "jsonb": []}
    try:
        migrate(engine)
        make_days(engine, datetime.now(UTC).date())
        for number in range(args.rounds):
            for kind in rounds:
                rounds[kind].append(_round(engine, kind, number * 2 + (kind == "jsonb")))
                print(kind, {k: round(v) for k, v in rounds[kind][-1].items()}, file=sys.stderr)
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {DATABASE}")
    summary = {
        kind: {
            name: statistics.median(r[name] for r in found)
            for name in ("insert_rows_per_s", "fold_rows_per_s")
        }
        for kind, found in rounds.items()
    }
    result = {"rounds": rounds, "median": summary}
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
