"""Soak: a real server under constant predict + feedback load with retention at 5 minutes.

    nice -n 10 .venv/bin/python benchmarks/soak_retention.py [--minutes 30] [--database-url URL]
        [--keep-unit-rollups 5m] [--segment 300] [--units 50000]

It starts ``champion server`` in a subprocess (SQLite in a fresh home, or the PostgreSQL at
``--database-url``, whose event tables it empties first) with
``CHAMPION_KEEP_PREDICTIONS=5m``, ``CHAMPION_KEEP_FEEDBACK=5m`` and a retention pass every
``--interval`` seconds, and sends a constant load: ``--rate`` requests per second (70 % to a
classifier shadowed by a second version, so each writes a shadow answer; 30 % to a ranker
showing 5 items) and ``--feedback`` clicks per second on items of recent rankings.

Every minute it prints and records: the database's size on disk (SQLite: the file with its
WAL; PostgreSQL: the event tables with their indexes and TOAST), the server's RSS, the rows
of each event table, the p50/p99 of the predict and rank calls of that minute, errors (any
non-2xx answer or failed call), calls shed because 100 were already waiting, and the host's
load average (other jobs share it), and the rows of the rollup tables (per-unit ``rollups``,
``interleaving_rollups``, the label and clicked-position copies, the per-arm sketches and
reward sums, the compacted segments). Target: size, RSS and rows flat once the first
retention pass has run (after ~5 minutes plus the fold lag); no errors.

The rollups hold one row per unit and segment, so with raw retention alone they still grow
with the units served (``--units`` ids, drawn uniformly). ``--keep-unit-rollups`` sets
``CHAMPION_KEEP_UNIT_ROLLUPS`` (``forever``: off) and ``--segment`` sets
``CHAMPION_ROLLUP_SEGMENT_SECONDS``: compaction takes whole segments, so with a 5-minute
horizon segments must be minutes long, not the default day, to be compacted within the run.

Retention deletes only rows folded into the rollups: the server's own fold pass folds them
(every 10 s, rows older than ``--fold-lag``). Daily drift windows are off
(``CHAMPION_DRIFT_DAYS_INTERVAL_SECONDS=0``): while they are stored, no prediction goes before
its UTC day is summarised, and a 5-minute horizon is far inside one day.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from champion.db import make_engine, write
from champion.events.rollup_tables import (
    compacted_segments,
    interleaving_rollups,
    labelled_predictions,
    ranked_clicks,
    reward_rollups,
    rollup_sketches,
    rollups,
)
from champion.events.tables import feedback, prediction_items, predictions, shadow_predictions
from champion.server_process import ServerProcess
from champion.services import Services
from champion.settings import Settings

HERE = Path(__file__).parent
MODELS = HERE.parent / "tests" / "fixtures" / "models"
ROW = {"tenure": 3, "charges": 12.5, "contract": "Month-to-month"}
TABLES = (predictions, prediction_items, shadow_predictions, feedback)
ROLLUP_TABLES = (
    rollups, interleaving_rollups, labelled_predictions, ranked_clicks, rollup_sketches,
    reward_rollups, compacted_segments,
)  # fmt: skip
HEADERS = {"X-Champion-Request": "1"}
MAX_IN_FLIGHT = 100
"""Calls of one kind waiting for an answer before the load sheds new ones (``shed``): a
server starved of CPU by other jobs then sees a bounded backlog, not an ever-growing one."""


@dataclass
class Minute:
    """What the load saw in one minute."""

    latencies: list[float] = field(default_factory=list)
    feedback_latencies: list[float] = field(default_factory=list)
    requests: int = 0
    feedback: int = 0
    errors: int = 0
    shed: int = 0
    kinds: Counter[str] = field(default_factory=Counter)  # what the errors were

    def failed(self, kind: str) -> None:
        self.errors += 1
        self.kinds[kind] += 1


class Load:
    """Open-loop load: calls start on schedule whatever the previous ones are doing (up to
    ``MAX_IN_FLIGHT`` waiting)."""

    def __init__(
        self, url: str, rate: float, feedback_rate: float, units: int, seed: int = 0
    ) -> None:
        self.units = units
        self.url = url
        self.rate = rate
        self.feedback_rate = feedback_rate
        self.rng = random.Random(seed)
        self.minute = Minute()
        self.recent: list[tuple[str, list[str]]] = []  # (request id, items shown)
        self.sequence = 0

    async def run(self, client: httpx.AsyncClient, until: float) -> None:
        await asyncio.gather(
            self._every(client, until, self.rate, self._predict),
            self._every(client, until, self.feedback_rate, self._feedback),
        )

    async def _every(self, client: httpx.AsyncClient, until: float, rate: float, call: Any) -> None:
        period, next_at = 1.0 / rate, time.monotonic()
        pending: set[asyncio.Task[None]] = set()
        while next_at < until:
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            next_at += period
            if len(pending) >= MAX_IN_FLIGHT:  # the server is behind: shed, and say so
                self.minute.shed += 1
                continue
            task = asyncio.create_task(call(client))
            pending.add(task)
            task.add_done_callback(pending.discard)
        await asyncio.gather(*pending)

    async def _predict(self, client: httpx.AsyncClient) -> None:
        self.sequence += 1
        unit = f"user-{self.rng.randrange(self.units)}"
        ranked = self.rng.random() < 0.3
        path, body = (
            ("/v1/endpoints/recs/rank", {"unit": unit, "k": 5})
            if ranked
            else ("/v1/endpoints/churn/predict", {"unit": unit, "instances": [ROW]})
        )
        started = time.perf_counter()
        try:
            response = await client.post(self.url + path, json=body)
        except httpx.HTTPError as exc:
            self.minute.failed(f"predict {type(exc).__name__}")
            return
        self.minute.latencies.append((time.perf_counter() - started) * 1000)
        self.minute.requests += 1
        if not response.is_success:
            self.minute.failed(f"predict {response.status_code}")
            return
        if ranked:
            answer = response.json()
            self.recent.append((answer["request_id"], [x["item"] for x in answer["items"]]))
            del self.recent[:-2000]

    async def _feedback(self, client: httpx.AsyncClient) -> None:
        if not self.recent:
            return
        request_id, items = self.rng.choice(self.recent)
        event = {"request_id": request_id, "kind": "click", "item": self.rng.choice(items)}
        started = time.perf_counter()
        try:
            response = await client.post(self.url + "/v1/feedback", json=event)
        except httpx.HTTPError as exc:
            self.minute.failed(f"feedback {type(exc).__name__}")
            return
        self.minute.feedback_latencies.append((time.perf_counter() - started) * 1000)
        self.minute.feedback += 1
        if not response.is_success:
            self.minute.failed(f"feedback {response.status_code}")


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _size_mib(engine: sa.Engine, home: Path) -> float:
    if engine.dialect.name == "sqlite":
        files = home.glob("champion.db*")
        return sum(f.stat().st_size for f in files if not f.name.endswith(".lock")) / 2**20
    with engine.connect() as conn:
        query = "SELECT sum(pg_total_relation_size(c)) FROM unnest(CAST(:t AS regclass[])) c"
        names = [t.name for t in (*TABLES, *ROLLUP_TABLES)]
        return float(conn.execute(sa.text(query), {"t": names}).scalar_one()) / 2**20


def _rows(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
            for t in (*TABLES, *ROLLUP_TABLES)
        }


def markdown(table: list[dict[str, Any]]) -> str:
    """The per-minute rows as the table in benchmarks/README.md."""
    head = (
        "| min | database MiB | RSS MiB | predictions | items | shadow | feedback | rollups | "
        "ranked clicks | sketches | compacted | calls | p50 ms | p99 ms | feedback p99 ms | "
        "errors | shed | load |"
    )
    lines = [head, "|" + " ---: |" * (head.count("|") - 1)]
    for r in table:
        lines.append(
            f"| {r['minute']} | {r['db_mib']:.1f} | {r['rss_mib']:.0f} | {r['predictions']:,} | "
            f"{r['prediction_items']:,} | {r['shadow_predictions']:,} | {r['feedback']:,} | "
            f"{r['rollups']:,} | {r['ranked_clicks']:,} | {r['rollup_sketches']:,} | "
            f"{r['compacted_segments']:,} | {r['requests'] + r['feedback_sent']:,} | "
            f"{r['p50_ms']:.1f} | {r['p99_ms']:.0f} | "
            f"{r['feedback_p99_ms']:.0f} | {r['errors']} | {r['shed']} | {r['load_1m']:.1f} |"
        )
    return "\n".join(lines)


def _setup(home: Path, database_url: str | None) -> None:
    services = Services.open(Settings(home=home, database_url=database_url))
    try:
        if database_url:
            with write(services.engine) as conn:
                for table in (*TABLES, *ROLLUP_TABLES):
                    conn.execute(sa.delete(table))
        registry, endpoints = services.registry, services.endpoints
        constant = MODELS / "constant"
        for alias in ("champion", "challenger"):
            registry.register(constant, model="churn", actor="soak", aliases_to_set=(alias,))
        registry.register(
            MODELS / "echo_ranker", model="recs", actor="soak", aliases_to_set=("champion",)
        )
        shadowed = {"champion": "churn@champion", "challenger": "churn@challenger"}
        endpoints.set("churn", "shadow", shadowed, actor="soak")
        endpoints.set("recs", "single", {"version": "recs@champion"}, actor="soak")
    finally:
        services.close()


async def _soak(args: argparse.Namespace, server: ServerProcess, engine: sa.Engine) -> list[Any]:
    assert server.process is not None
    pid = server.process.pid
    load = Load(server.url, args.rate, args.feedback, args.units)
    table: list[dict[str, Any]] = []
    started = time.monotonic()
    end = started + 60 * args.minutes
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(headers=HEADERS, timeout=60, limits=limits) as client:
        # One continuous load; each minute's row holds the calls that finished in it.
        running = asyncio.ensure_future(load.run(client, end))
        for minute in range(1, args.minutes + 1):
            await asyncio.sleep(max(0.0, started + 60 * minute - time.monotonic()))
            seen, load.minute = load.minute, Minute()
            size = await asyncio.to_thread(_size_mib, engine, server.home)
            rows = await asyncio.to_thread(_rows, engine)
            row = {
                "minute": minute,
                "db_mib": round(size, 1),
                "rss_mib": round(_rss_mib(pid), 1),
                **rows,
                "requests": seen.requests,
                "feedback_sent": seen.feedback,
                "p50_ms": round(_quantile(seen.latencies, 0.5), 2),
                "p99_ms": round(_quantile(seen.latencies, 0.99), 2),
                "feedback_p99_ms": round(_quantile(seen.feedback_latencies, 0.99), 2),
                "errors": seen.errors,
                "shed": seen.shed,
                "error_kinds": dict(seen.kinds),
                "load_1m": round(os.getloadavg()[0], 1),  # the host is shared: say how busy
            }
            table.append(row)
            print(json.dumps(row), flush=True)
        await running
    return table


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=30)
    parser.add_argument("--rate", type=float, default=30.0, help="Predictions per second.")
    parser.add_argument("--feedback", type=float, default=10.0, help="Clicks per second.")
    parser.add_argument("--keep", default="5m", help="CHAMPION_KEEP_PREDICTIONS and _FEEDBACK.")
    parser.add_argument("--interval", type=float, default=60.0, help="Seconds between passes.")
    parser.add_argument("--fold-lag", type=float, default=60.0)
    parser.add_argument(
        "--keep-unit-rollups", default="5m", help="CHAMPION_KEEP_UNIT_ROLLUPS ('forever': off)."
    )
    parser.add_argument(
        "--segment", type=int, default=300, help="CHAMPION_ROLLUP_SEGMENT_SECONDS (divides a day)."
    )
    parser.add_argument("--units", type=int, default=50_000, help="Distinct unit ids drawn.")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--out", type=Path, default=None, help="Write the table as JSON here.")
    args = parser.parse_args()
    # Stopped with SIGTERM, still stop the server and remove the home (finally blocks run).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    home = Path(tempfile.mkdtemp(prefix="soak-retention-"))
    try:
        _setup(home, args.database_url)
        env = {
            "CHAMPION_KEEP_PREDICTIONS": args.keep,
            "CHAMPION_KEEP_FEEDBACK": args.keep,
            "CHAMPION_KEEP_UNIT_ROLLUPS": args.keep_unit_rollups,
            "CHAMPION_ROLLUP_SEGMENT_SECONDS": str(args.segment),
            "CHAMPION_RETENTION_INTERVAL_SECONDS": str(args.interval),
            "CHAMPION_FOLD_INTERVAL_SECONDS": "10",
            "CHAMPION_FOLD_LAG_SECONDS": str(args.fold_lag),
            "CHAMPION_DRIFT_DAYS_INTERVAL_SECONDS": "0",
            "CHAMPION_ALLOW_CODE_UPLOADS": "false",
        }
        server = ServerProcess(home, args.database_url, env=env)
        server.start()
        engine = make_engine(
            Settings(home=home, database_url=args.database_url).resolved_database_url()
        )
        try:
            print(f"{engine.dialect.name}: {args.rate:g} predictions/s + {args.feedback:g} "
                  f"clicks/s for {args.minutes} min, keep {args.keep}, unit rollups "
                  f"{args.keep_unit_rollups} in {args.segment} s segments, {args.units:,} units, "
                  f"pass every {args.interval:g} s, fold lag {args.fold_lag:g} s",
                  flush=True)  # fmt: skip
            table = asyncio.run(_soak(args, server, engine))
        finally:
            server.stop()
            engine.dispose()
        if args.out is not None:
            args.out.write_text(json.dumps(table, indent=1))
        print(markdown(table))
        log = server.log.read_text()
        print("server log lines mentioning errors:", sum("Error" in x for x in log.splitlines()))
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
