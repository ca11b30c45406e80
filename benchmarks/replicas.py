"""Replicas behind HAProxy (deploy/replicas.py) on one PostgreSQL database and one S3 bucket
(moto's server): predict throughput with 1, 2 and 3 replicas, and a failover run.

    .venv/bin/python benchmarks/make_model.py --no-mlflow     # once
    nice -n 10 .venv/bin/python benchmarks/replicas.py \\
        --postgres-url postgresql://postgres:secret@127.0.0.1:5432/postgres [--duration 15]

The benchmark makes its own database on that server and drops it at the end. Throughput:
wrk (one thread, ``--connections`` 32) through the balancer on the 20-feature model of
benchmarks/make_model.py, after each replica loaded the version and 2 s of warm-up; server CPU
is the replicas' and HAProxy's, in cores. Failover: 2 replicas under the same wrk load plus
feedback from 2 threads; after 5 s the replica holding the rollout controller's leader lock
is SIGKILLed. Reported: wrk's failed requests, feedback requests that failed, the time until
HAProxy marks the replica down and until the other replica reports the leader lock
(``champion_controller_leader``), and acknowledged feedback missing from the database.

Writes benchmarks/results/replicas.json and prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.run import cpu_seconds, exclusive, machine, machine_busy_seconds, parse_wrk  # noqa: E402
from tests.fixtures.replicas import HEADERS, Load, ReplicaSet  # noqa: E402
from tests.registry.folders import pack  # noqa: E402

from champion.events.tables import feedback  # noqa: E402

MODEL = HERE / "build" / "champion_model"
BODY = HERE / "build" / "payload_champion.json"


def _engine(url: str) -> sa.Engine:
    return sa.create_engine(
        url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )


class Database:
    """A database of the benchmark's own on the server of ``admin_url``, dropped at exit."""

    def __init__(self, admin_url: str) -> None:
        self.admin = _engine(admin_url)
        self.name = f"champion_replicas_{uuid.uuid4().hex[:8]}"
        self.url = sa.make_url(admin_url).set(database=self.name).render_as_string(False)

    def __enter__(self) -> Database:
        with self.admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {self.name}"))
        return self

    def __exit__(self, *exc: object) -> None:
        with self.admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE {self.name} WITH (FORCE)"))
        self.admin.dispose()

    def reset(self) -> None:
        engine = _engine(self.url)
        with engine.connect() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()


def _serve(replicas: ReplicaSet) -> dict[str, Any]:
    """Register the model through the balancer, serve it, and load it on every replica."""
    row: dict[str, Any] = json.loads(BODY.read_text())
    with httpx.Client(base_url=replicas.balancer, headers=HEADERS, timeout=60) as client:
        upload = client.post(
            "/v1/models/bench/versions",
            files={"file": ("v.tar.gz", pack(MODEL), "application/gzip")},
            data={"aliases": "champion"},
        )
        upload.raise_for_status()
        body = {"policy": "single", "params": {"version": "bench@champion"}}
        client.put("/v1/endpoints/bench", json=body).raise_for_status()
    for url in replicas.replicas.values():
        httpx.post(f"{url}/v1/endpoints/bench/predict", json=row, headers=HEADERS, timeout=60)
    return row


def _wrk(url: str, connections: int, seconds: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        # A 10 s timeout (wrk's default is 2 s), as champion's own predict timeout: on a busy
        # shared host a slow answer is an answer, not a failure.
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s",
         "-s", str(HERE / "post.lua"), f"{url}/v1/endpoints/bench/predict"],
        env=dict(os.environ, BODY=str(BODY)), stdout=subprocess.PIPE, text=True,
    )  # fmt: skip


def _server_cpu(replicas: ReplicaSet) -> float:
    names = ["haproxy", *replicas.replicas]
    return sum(
        cpu_seconds(replicas.pid(n)) for n in names if Path(f"/proc/{replicas.pid(n)}").exists()
    )


def throughput(
    database: Database, count: int, connections: int, seconds: int, tmp: Path
) -> dict[str, Any]:
    database.reset()
    replicas = ReplicaSet(
        tmp / f"set-{count}", count, "--store", "s3", "--database-url", database.url
    )
    replicas.start()
    try:
        _serve(replicas)
        _wrk(replicas.balancer, connections, 2).communicate()
        load_average = os.getloadavg()[0]
        cpu_before, started = _server_cpu(replicas), time.monotonic()
        busy_before = machine_busy_seconds()
        out, _ = _wrk(replicas.balancer, connections, seconds).communicate()
        elapsed = time.monotonic() - started
        cores = (_server_cpu(replicas) - cpu_before) / elapsed
        busy = (machine_busy_seconds() - busy_before) / elapsed
        result = parse_wrk(out)
        result["server_cpu_cores"] = round(cores, 2)
        # Everything else the machine ran meanwhile, wrk included: on a shared host this says
        # how much of the two cores the replicas could have had.
        result["other_cpu_cores"] = round(max(busy - cores, 0.0), 2)
        result["load_average_1min_before"] = round(load_average, 2)
        result["server_cpu_ms_per_request"] = round(1000 * cores * seconds / result["requests"], 3)
        result["served_by"] = {
            name: replicas.metric(name, "champion_predictions_total", endpoint="bench")
            for name in replicas.replicas
        }
        return result
    finally:
        replicas.stop()


def _leader(replicas: ReplicaSet, names: list[str]) -> str | None:
    for name in names:
        try:
            if replicas.metric(name, "champion_controller_leader") == 1:
                return name
        except httpx.HTTPError:
            continue
    return None


def failover(database: Database, connections: int, seconds: int, tmp: Path) -> dict[str, Any]:
    database.reset()
    replicas = ReplicaSet(tmp / "failover", 2, "--store", "s3", "--database-url", database.url)
    replicas.start()
    try:
        row = _serve(replicas)
        names = list(replicas.replicas)
        deadline = time.monotonic() + 60
        while (victim := _leader(replicas, names)) is None:  # the first look is 10 s after start
            if time.monotonic() > deadline:
                raise RuntimeError("No replica became the controller's leader in 60 s.")
            time.sleep(0.2)
        survivors = [n for n in names if n != victim]
        wrk = _wrk(replicas.balancer, connections, seconds)
        with Load(replicas.balancer, "bench", row, threads=2, kinds=("feedback",)) as load:
            time.sleep(5)
            killed = time.monotonic()
            replicas.kill(victim)
            down = takeover = None
            while down is None or takeover is None:
                now = time.monotonic() - killed
                if now > seconds:
                    break
                if down is None and replicas.servers()[victim].startswith("DOWN"):
                    down = now
                if takeover is None and _leader(replicas, survivors) is not None:
                    takeover = now
                time.sleep(0.05)
            out, _ = wrk.communicate()
        stats = _haproxy_counters(replicas)
        engine = _engine(database.url)
        with engine.connect() as conn:
            stored = set(conn.execute(sa.select(feedback.c.event_id)).scalars())
        engine.dispose()
        result = parse_wrk(out)
        result.update(
            killed=victim,
            marked_down_after_s=None if down is None else round(down, 2),
            leader_takeover_after_s=None if takeover is None else round(takeover, 2),
            feedback_requests=len(load.results),
            feedback_failed=sum(1 for _, _, status in load.results if status != 201),
            feedback_acknowledged=len(load.acknowledged),
            feedback_acknowledged_lost=len(load.acknowledged - stored),
            haproxy=stats,
        )
        return result
    finally:
        replicas.stop()


def _haproxy_counters(replicas: ReplicaSet) -> dict[str, Any]:
    """Retries and redispatches HAProxy made, and its 5xx answers (from its /metrics)."""
    text = httpx.get(f"{replicas.state['stats']}metrics", timeout=10).text
    wanted = (
        "haproxy_backend_retry_warnings_total", "haproxy_backend_redispatch_warnings_total",
        "haproxy_backend_connection_errors_total", "haproxy_backend_response_errors_total",
    )  # fmt: skip
    found: dict[str, Any] = {}
    for line in text.splitlines():
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name in wanted and 'proxy="champion"' in line:
            found[name.removeprefix("haproxy_backend_")] = float(line.rsplit(" ", 1)[1])
    return found


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "| replicas | req/s | p50 ms | p99 ms | failed | server CPU (cores) | CPU ms/req |"
        " other CPU (cores) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for count, r in report["throughput"].items():
        lines.append(
            f"| {count} | {r['requests_per_second']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} |"
            f" {r['non_2xx'] + r['socket_errors']} | {r['server_cpu_cores']:.2f} |"
            f" {r['server_cpu_ms_per_request']:.3f} | {r['other_cpu_cores']:.2f} |"
        )
    f = report["failover"]
    rows = [
        ("predict requests (wrk)", f"{f['requests']:,}"),
        ("failed predict requests (non-2xx + socket errors)",
         f"{f['non_2xx']} + {f['socket_errors']} {f['socket_errors_by_kind']}"),
        ("p99 over the run, ms", f"{f['p99_ms']:.2f}"),
        ("feedback requests / failed", f"{f['feedback_requests']:,} / {f['feedback_failed']}"),
        ("HAProxy marks the replica down after, s", f"{f['marked_down_after_s']}"),
        ("the other replica holds the leader lock after, s", f"{f['leader_takeover_after_s']}"),
        ("acknowledged feedback events / lost",
         f"{f['feedback_acknowledged']:,} / {f['feedback_acknowledged_lost']}"),
        ("HAProxy retries / redispatches",
         f"{f['haproxy'].get('retry_warnings_total')} / "
         f"{f['haproxy'].get('redispatch_warnings_total')}"),
    ]  # fmt: skip
    lines += ["", "| failover (2 replicas, the leader SIGKILLed) | value |", "| --- | ---: |"]
    lines += [f"| {label} | {value} |" for label, value in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres-url", default=os.environ.get("CHAMPION_TEST_POSTGRES_URL"))
    parser.add_argument("--duration", type=int, default=15, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--replicas", default="1,2,3", help="replica counts to measure")
    args = parser.parse_args()
    if not args.postgres_url:
        sys.exit("--postgres-url (or CHAMPION_TEST_POSTGRES_URL) is needed.")
    if not MODEL.exists():
        sys.exit("Build the model first: .venv/bin/python benchmarks/make_model.py --no-mlflow")
    with exclusive(), tempfile.TemporaryDirectory() as scratch, Database(args.postgres_url) as db:
        tmp = Path(scratch)
        report: dict[str, Any] = {"machine": machine(), "connections": args.connections}
        report["throughput"] = {}
        for count in map(int, args.replicas.split(",")):
            r = throughput(db, count, args.connections, args.duration, tmp)
            report["throughput"][str(count)] = r
            print(
                f"{count} replicas: {r['requests_per_second']:.0f} req/s, p50 {r['p50_ms']} ms, "
                f"p99 {r['p99_ms']} ms, CPU {r['server_cpu_cores']} cores",
                file=sys.stderr,
            )
        report["failover"] = failover(db, args.connections, max(args.duration, 20), tmp)
    for r in [*report["throughput"].values(), report["failover"]]:
        r.pop("wrk_output", None)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "replicas.json").write_text(json.dumps(report, indent=2) + "\n")
    print(markdown(report))


if __name__ == "__main__":
    main()
