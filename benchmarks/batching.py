"""Adaptive batching: the same server with batching off and on, at 1 and 32 connections.

Two models, each behind two endpoints of one ``champion server`` (one worker, event log on):
``*-off`` (batching off, the default) and ``*-on`` (``max_batch_size`` 32,
``max_batch_wait_ms`` 2):

- ``lr``: the serving benchmark's 20-feature LogisticRegression (benchmarks/make_model.py);
- ``attrition``: the demo's attrition Pipeline (ColumnTransformer over the Telco table, then
  LogisticRegression), about 15 ms a call whatever the rows.

Each request is one row. The off and on endpoints are measured alternately with wrk
(``-t1 --latency``), so a loaded host slows both alike. Run from the repository root:

    nice -n 10 .venv/bin/python benchmarks/batching.py [--duration 10] [--data data]

Writes benchmarks/results/batching.json and prints the README table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from run import BUILD, CHAMPION, HERE, Server, exclusive, free_port, stop, wait_ready, wrk

from champion.demo.attrition import write_attrition_classifier
from champion.services import Services
from champion.settings import Settings

BATCHING = {"max_batch_size": 32, "max_batch_wait_ms": 2.0}
CONNECTIONS = (1, 32)


def prepare(home: Path, data: Path) -> dict[str, Path]:
    """Register both models and their endpoints; return each model's one-row body."""
    subprocess.run([sys.executable, str(HERE / "make_model.py"), "--no-mlflow"], check=True)
    holdout = write_attrition_classifier(data, home.parent / "attrition", "bench")
    bodies = {"lr": BUILD / "payload_champion.json", "attrition": home.parent / "attrition.json"}
    bodies["attrition"].write_text(json.dumps({"unit": "u1", "instances": holdout.rows[:1]}))
    services = Services.open(Settings(home=home))
    try:
        for name, folder in (
            ("lr", BUILD / "champion_model"),
            ("attrition", home.parent / "attrition"),
        ):
            services.registry.register(
                folder, model=name, actor="bench", aliases_to_set=("champion",)
            )
            params = {"version": f"{name}@champion"}
            services.endpoints.set(f"{name}-off", "single", params, actor="bench")
            services.endpoints.set(f"{name}-on", "single", params, actor="bench", batching=BATCHING)
    finally:
        services.close()
    return bodies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--data", type=Path, default=HERE.parent / "data")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with exclusive(), tempfile.TemporaryDirectory(prefix="champion-batching-") as tmp:
        home = Path(tmp) / "home"
        bodies = prepare(home, args.data)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = Path(tmp) / "server.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(CHAMPION), "server", "--port", str(port), "--log-level", "warning",
                 "--workers", "1"],
                env=dict(os.environ, CHAMPION_HOME=str(home)), stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        server = Server("champion", process, base, bodies["lr"], log, base)
        try:
            wait_ready(f"{base}/v1/health", server)
            for model, body in bodies.items():
                for c in CONNECTIONS:
                    for batching in ("off", "on"):
                        endpoint = Server(
                            f"{model}-{batching}", process,
                            f"{base}/v1/endpoints/{model}-{batching}/predict", body, log, base,
                        )  # fmt: skip
                        wrk(endpoint, 8, 2)  # warm-up
                        run = wrk(endpoint, c, args.duration)
                        run.pop("wrk_output")
                        results[f"{model}-{batching}-c{c}"] = run
                        print(
                            f"{model} c={c} batching {batching}: "
                            f"{run['requests_per_second']:.0f} req/s, p50 {run['p50_ms']:.2f} ms, "
                            f"p99 {run['p99_ms']:.2f} ms, non-2xx {run['non_2xx']}, "
                            f"other load {run['other_cpu_cores']:.2f} cores",
                            file=sys.stderr,
                        )
        finally:
            stop(server)
    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "batching": BATCHING,
        "load_average": os.getloadavg(),
        "results": results,
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "batching.json").write_text(json.dumps(report, indent=2) + "\n")
    print(
        "| model | connections | batching | req/s | p50 ms | p99 ms | non-2xx | other load |\n"
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |"
    )
    for key, r in results.items():
        model, state, connections = key.rsplit("-", 2)
        print(
            f"| {model} | {connections[1:]} | {state} | {r['requests_per_second']:,.0f} | "
            f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['non_2xx'] + r['socket_errors']} | "
            f"{r['other_cpu_cores']:.2f} |"
        )


if __name__ == "__main__":
    main()
