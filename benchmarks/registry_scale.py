"""The registry with 10^5 versions of one model: how long listing and showing take.

    .venv/bin/python benchmarks/registry_scale.py [--versions 100000] [--database-url URL]

The versions are bulk-inserted into the registry's own tables (``models``, ``versions``,
``aliases``) in one transaction, not registered one by one (10^5 registrations would take
most of an hour and time nothing this benchmark is about): each row is what a registration
writes, with its manifest (signature, lineage with a ``team`` tag on every version, a
``reviewed`` tag on one in 1,000, an ``auc`` metric). Then, through the HTTP API in this
process (FastAPI's test client, so the time includes routing, validation and JSON, not a
network), each call's median and p95 over 30 runs:

- ``GET /v1/models/big`` (the model and its 10 newest versions),
- ``GET /v1/models/big/versions`` (first page of 100), a page 500 pages deep by cursor,
- filters: a common tag (every other version), a rare tag (1 in 1,000), a metric threshold,
  an alias, a creator, and a time window,

and the answer's size. SQLite by default (a file in a temporary folder), PostgreSQL with
``--database-url``.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from tests.conftest import local_client

from champion.api import create_app
from champion.registry.tables import aliases, models, versions
from champion.settings import Settings

MANIFEST: dict[str, Any] = {
    "kind": "classifier",
    "flavor": "python",
    "class": "constant:ConstantModel",
    "signature": {
        "inputs": [
            {"name": "tenure", "type": "integer"},
            {"name": "charges", "type": "number", "nullable": True},
            {"name": "contract", "type": "string"},
        ]
    },
}
START = datetime(2026, 1, 1, tzinfo=UTC)


def fill(engine: sa.Engine, count: int) -> None:
    rows = []
    for n in range(1, count + 1):
        tags = {"team": "search" if n % 2 else "ads"}
        if n % 1000 == 0:
            tags["reviewed"] = "yes"
        manifest = {
            **MANIFEST,
            "lineage": {
                "trained_by": "bench",
                "description": f"nightly retrain {n}",
                "metrics": {"auc": 0.5 + (n % 500) / 1000},
                "tags": tags,
            },
        }
        rows.append(
            {
                "model": "big",
                "number": n,
                "kind": "classifier",
                "flavor": "python",
                "manifest": manifest,
                "files": {"champion.yaml": "0" * 64, "constant.py": "1" * 64},
                "size_bytes": 1234,
                "created_at": START + timedelta(minutes=n),
                "created_by": "alice" if n % 10 == 0 else "pipeline",
            }
        )
    with engine.begin() as conn:
        conn.execute(models.insert().values(name="big", created_at=START, created_by="bench"))
        for i in range(0, len(rows), 5000):
            conn.execute(versions.insert(), rows[i : i + 5000])
        conn.execute(
            aliases.insert().values(
                model="big", alias="champion", number=count // 2, updated_at=START,
                updated_by="bench",
            )
        )  # fmt: skip


def timed(call: Callable[[], Any], runs: int = 30) -> tuple[float, float, int]:
    call()  # warm: caches, prepared statements
    times, size = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        response = call()
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
        size = len(response.content)
    times.sort()
    return statistics.median(times) * 1000, times[int(0.95 * (runs - 1))] * 1000, size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--versions", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home), database_url=args.database_url)
        with local_client(create_app(settings)) as client:
            engine = client.app.state.champion.services.engine  # type: ignore[attr-defined]
            started = time.perf_counter()
            fill(engine, args.versions)
            print(f"{args.versions:,} versions inserted in {time.perf_counter() - started:.1f} s "
                  f"({engine.dialect.name})")  # fmt: skip
            first = client.get("/v1/models/big/versions").json()
            cursor = first["next_cursor"]
            depth = max(min(500, args.versions // 100 - 1), 1)  # pages deep, at 10^5: 500
            for _ in range(depth - 1):
                cursor = client.get("/v1/models/big/versions", params={"cursor": cursor}).json()[
                    "next_cursor"
                ]
            middle = (START + timedelta(minutes=args.versions // 2)).isoformat()
            later = (START + timedelta(minutes=args.versions // 2 + 1000)).isoformat()
            listing = "/v1/models/big/versions"
            queries: list[tuple[str, dict[str, str]]] = [
                ("list, first page of 100", {}),
                (f"list, page {depth + 1} by cursor", {"cursor": cursor}),
                ("tag team:search (1 in 2)", {"tag": "team:search"}),
                ("tag reviewed (1 in 1,000)", {"tag": "reviewed"}),
                ("metric auc>0.99 (1 in 50)", {"metric": "auc>0.99"}),
                ("alias champion", {"alias": "champion"}),
                ("creator alice (1 in 10)", {"creator": "alice"}),
                ("created in a 1,000-minute window",
                 {"created_after": middle, "created_before": later}),
            ]  # fmt: skip
            cases: list[tuple[str, Callable[[], Any]]] = [
                ("GET /v1/models/big (10 newest)", lambda: client.get("/v1/models/big"))
            ]
            for label, params in queries:
                cases.append((label, functools.partial(client.get, listing, params=params)))
            print(f"{'call':38s} {'median ms':>10s} {'p95 ms':>8s} {'bytes':>9s}")
            for label, call in cases:
                median, p95, size = timed(call)
                print(f"{label:38s} {median:10.1f} {p95:8.1f} {size:9,d}")


if __name__ == "__main__":
    main()
