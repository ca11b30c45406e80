"""Does watching for drift slow serving? Predict latency with and without alert rules running.

Drift and data-quality counting never run on the request path: they read the logged
predictions, in the server's alert evaluator (a worker process) or on a drift request. This
measures what that costs the requests served meanwhile, on one real server:

    .venv/bin/python benchmarks/drift_serving.py            # 3 rounds of 2,000 requests each way

``quiet``: no alert rule. ``watched``: rules on drift_share and quality_bad_share evaluated
every second over the last hour of traffic (every evaluation streams the whole window and
compares it with the reference), i.e. far more often than the default (every minute).
Requests are sequential, one connection (the latency a client sees).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.drift.traffic import customers, rows  # noqa: E402

from champion.server_process import ServerProcess  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "models" / "scorer"
RULES = ("drift_share", "quality_bad_share")


def _setup(home: Path) -> None:
    from champion.services import Services
    from champion.settings import Settings

    folder = home / "scorer"
    shutil.copytree(FIXTURE, folder)
    customers(5000, seed=1).to_csv(folder / "reference.csv", index=False)
    services = Services.open(Settings(home=home))
    try:
        services.registry.register(
            folder, model="churn", actor="bench", aliases_to_set=("champion",)
        )
        services.endpoints.set("churn", "single", {"version": "churn@champion"}, actor="bench")
    finally:
        services.close()


def _round(client: httpx.Client, instances: list[dict[str, Any]]) -> list[float]:
    latencies = []
    for i, row in enumerate(instances):
        started = time.perf_counter()
        response = client.post(
            "/v1/endpoints/churn/predict", json={"unit": f"u{i}", "instances": [row]}
        )
        latencies.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return latencies


def _summary(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "p50_ms": statistics.median(ordered),
        "p99_ms": ordered[int(0.99 * len(ordered)) - 1],
        "mean_ms": statistics.fmean(ordered),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, Any] = {"requests": args.requests, "rounds": args.rounds}
    with tempfile.TemporaryDirectory(prefix="drift-serving-") as folder:
        home = Path(folder)
        _setup(home)
        server = ServerProcess(home, env={"CHAMPION_ALERT_INTERVAL_SECONDS": "1"})
        server.start()
        try:
            with httpx.Client(
                base_url=server.url, timeout=30, headers={"X-Champion-Request": "1"}
            ) as client:
                instances = rows(customers(args.requests, seed=2, shift=0.5))
                _round(client, instances[:200])  # warm-up, and traffic for the window
                runs: dict[str, list[float]] = {"quiet": [], "watched": []}
                evaluations = 0
                for _ in range(args.rounds):
                    for mode in ("quiet", "watched"):
                        for metric in RULES:
                            name = f"watch-{metric}"
                            if mode == "watched":
                                client.put(f"/v1/alerts/rules/{name}", json={
                                    "endpoint": "churn", "metric": metric, "threshold": 2.0,
                                    "window": "1h", "cooldown": "0",
                                }).raise_for_status()  # fmt: skip
                            else:
                                client.delete(f"/v1/alerts/rules/{name}")
                        started = time.perf_counter()
                        runs[mode] += _round(client, instances)
                        if mode == "watched":
                            evaluations += int(time.perf_counter() - started)
        finally:
            server.stop()
    results["quiet"] = _summary(runs["quiet"])
    results["watched"] = _summary(runs["watched"])
    results["watched_seconds"] = evaluations
    out = ROOT / "benchmarks" / "results" / "drift_serving.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print("| mode | p50 ms | p99 ms | mean ms |\n| --- | ---: | ---: | ---: |")
    for mode in ("quiet", "watched"):
        s = results[mode]
        print(f"| {mode} | {s['p50_ms']:.2f} | {s['p99_ms']:.2f} | {s['mean_ms']:.2f} |")
    print(f"{evaluations} s of watched traffic: rules evaluated every second meanwhile")


if __name__ == "__main__":
    main()
