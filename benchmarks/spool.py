"""What durability costs: idempotent inserts, the event spool, and the readiness write probe.

    nice -n 10 .venv/bin/python benchmarks/spool.py [--events 50000] [--database-url URL]

On a fresh home (SQLite by default, or the PostgreSQL at ``--database-url``), it times

- the writer's batch insert of prediction events (1000 per batch) as it runs now, with
  ``ON CONFLICT DO NOTHING``, against the same statement without it;
- appending the same events to the spool (one fsync per batch of 1000), and replaying the
  spool into the database (what a recovery costs);
- the readiness probe: one committed write to ``health_probes``.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from champion.db import write
from champion.db.dialects import insert_encoded
from champion.diagnostics.health import write_probe
from champion.events import EventSpool, PredictionEvent, PredictionWriter
from champion.events.tables import predictions
from champion.metrics import Metrics
from champion.services import Services
from champion.settings import Settings

BATCH = 1000


def _event(n: int, run: str) -> PredictionEvent:
    return PredictionEvent(
        request_id=f"{run}-{n}",
        endpoint="bench",
        config_version=1,
        unit=f"user-{n}",
        unit_randomised=True,
        arm="champion",
        bucket=n % 10_000,
        model="bench",
        version=1,
        kind="predict",
        inputs=[{f"x{i}": 0.5 + i for i in range(20)}],
        outputs=[[0.25, 0.75]],
        latency_ms=0.4,
        at=datetime.now(UTC),
    )


def _clear(engine: sa.Engine) -> None:
    with write(engine) as conn:
        conn.execute(sa.delete(predictions))


def _insert_rate(writer: PredictionWriter, events: int, idempotent: bool, run: str) -> float:
    encoder = writer._predictions
    rows = [encoder.ordered(_event(n, run).values()) for n in range(events)]
    if not idempotent:  # the same statement without its ON CONFLICT clause
        encoder = copy.copy(encoder)
        encoder.sql = encoder.sql.removesuffix(" ON CONFLICT DO NOTHING")
    started = time.perf_counter()
    for start in range(0, events, BATCH):
        with write(writer.engine, durable=False) as conn:
            insert_encoded(conn, encoder, rows[start : start + BATCH])
    return events / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home), database_url=args.database_url)
        services = Services.open(settings)
        try:
            engine = services.engine
            print(f"database: {engine.dialect.name}, {args.events} events of 20 features")
            writer = PredictionWriter(
                engine, Metrics(), queue_size=1, batch_size=BATCH, flush_seconds=1
            )
            for label, idempotent in [("INSERT (plain)", False), ("INSERT ON CONFLICT", True)]:
                rates = []
                for round_ in range(3):
                    _clear(engine)
                    rates.append(_insert_rate(writer, args.events, idempotent, f"r{round_}"))
                print(f"{label:28s} {statistics.median(rates):10,.0f} events/s (median of 3)")
            _clear(engine)

            spool = EventSpool(settings.spool_dir, 1 << 34)
            spooler = PredictionWriter(
                engine, Metrics(), queue_size=1, batch_size=BATCH, flush_seconds=1, spool=spool
            )
            spool.open()
            batch = [spooler._encode(_event(n, "spooled")) for n in range(args.events)]
            started = time.perf_counter()
            for start in range(0, args.events, BATCH):
                spooler._to_spool(batch[start : start + BATCH])
            appended = args.events / (time.perf_counter() - started)
            size = spool.waiting_bytes
            started = time.perf_counter()
            replayed = spool.replay(spooler._replay_lines, BATCH)
            replay_rate = replayed / (time.perf_counter() - started)
            spool.close()
            print(f"{'spool append (fsync/1000)':28s} {appended:10,.0f} events/s")
            print(f"{'spool replay into database':28s} {replay_rate:10,.0f} events/s")
            print(f"{'spool size':28s} {size / args.events:10,.0f} bytes per event")

            probes = []
            for _ in range(50):
                started = time.perf_counter()
                assert write_probe(engine, datetime.now(UTC)) is None
                probes.append((time.perf_counter() - started) * 1000)
            print(
                f"{'readiness write probe':28s} {statistics.median(probes):10.2f} ms median, "
                f"{max(probes):.2f} ms max (50 probes)"
            )
        finally:
            services.close()


if __name__ == "__main__":
    main()
