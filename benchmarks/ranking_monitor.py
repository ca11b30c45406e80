"""A ranker's monitoring at scale, and how often its item-drift test errs.

    nice -n 10 .venv/bin/python benchmarks/ranking_monitor.py [--requests 50000] [--nulls 1000]
        [--database-url URL] [--only timing|calibration]

1. **Time.** Two hours of rankings of one endpoint (``--requests`` per hour, 10 items each,
   from 20,000 users who ask 1-4 times and see the same list, a Zipf-like catalogue of 5,000
   items, clicks falling off with position) are bulk-inserted into the event tables, then
   ``DriftMonitor.ranking`` (what ``GET /v1/endpoints/{e}/ranking-monitor`` runs) compares
   the second hour with the first: median and max of 3 runs.
2. **Calibration.** ``exposure.item_drift`` on ``--nulls`` pairs of windows from the same
   ranker (false positives at alpha 0.05, with and without the correction for users), at 60,
   150 and 600 users a window, and its power when the second window's lists come from a
   steeper popularity curve.

Results are printed and written to ``benchmarks/results/ranking_monitor.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats
from tests.drift.rankings import draw_lists, exposures
from tests.fixtures.events import T0

from champion.db import write
from champion.drift.exposure import item_drift
from champion.events.tables import feedback, prediction_items, predictions
from champion.services import Services
from champion.settings import Settings

ROOT = Path(__file__).parent
CATALOGUE = 5_000
USERS = 20_000
HOUR = timedelta(hours=1)


def _lists(rng: np.random.Generator, steepness: float) -> list[list[str]]:
    weights = 1.0 / np.arange(1, CATALOGUE + 1) ** steepness
    weights /= weights.sum()
    return [
        [f"item{i}" for i in rng.choice(CATALOGUE, 10, replace=False, p=weights)]
        for _ in range(USERS)
    ]


def _insert(services: Services, requests: int, rng: np.random.Generator) -> int:
    impressions = 0
    for hour, steepness in ((0, 0.8), (1, 0.9)):
        lists = _lists(rng, steepness)
        rows: dict[str, list[dict[str, Any]]] = {"p": [], "i": [], "f": []}
        users = rng.integers(0, USERS, size=requests)
        seconds = np.sort(rng.uniform(0, 3599, size=requests))
        for n, (user, second) in enumerate(zip(users, seconds, strict=True)):
            request_id = f"h{hour}-{n}"
            at = T0 + hour * HOUR + timedelta(seconds=float(second))
            rows["p"].append({
                "request_id": request_id, "endpoint": "recs", "config_version": 1,
                "unit": f"u{user}", "unit_randomised": False, "arm": "single", "bucket": 0,
                "model": "recs", "version": 1, "kind": "rank", "inputs": {}, "outputs": [],
                "latency_ms": 1.0, "at": at,
            })  # fmt: skip
            for position, item in enumerate(lists[user], start=1):
                rows["i"].append({"request_id": request_id, "position": position, "item": item,
                                  "model": "recs", "version": 1})  # fmt: skip
                if rng.uniform() < 0.05 / position**0.5:
                    rows["f"].append({
                        "event_id": f"{request_id}-{position}", "request_id": request_id,
                        "item": item, "kind": "click", "at": at, "received_at": at,
                    })  # fmt: skip
            impressions += 10
        with write(services.engine) as conn:
            for table, key in ((predictions, "p"), (prediction_items, "i"), (feedback, "f")):
                for start in range(0, len(rows[key]), 20_000):
                    conn.execute(table.insert(), rows[key][start : start + 20_000])
    return impressions


def timing(requests: int, database_url: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="ranking-bench-") as home:
        settings = Settings(home=Path(home), database_url=database_url)
        services = Services.open(settings)
        try:
            folder = ROOT.parent / "tests" / "fixtures" / "models" / "echo_ranker"
            services.registry.register(
                folder, model="recs", actor="bench", aliases_to_set=("champion",)
            )
            services.endpoints.set("recs", "single", {"version": "recs@champion"}, actor="bench")
            began = time.perf_counter()
            impressions = _insert(services, requests, np.random.default_rng(0))
            inserted = time.perf_counter() - began
            seconds, cpu, body = [], [], {}
            for _ in range(3):
                began, began_cpu = time.perf_counter(), time.process_time()
                result = services.drift.ranking("recs", start=T0 + HOUR, end=T0 + 2 * HOUR)
                seconds.append(time.perf_counter() - began)
                cpu.append(time.process_time() - began_cpu)
                body = result.to_json()
        finally:
            services.close()
    (version,) = body["versions"]
    drift = version["item_drift"]
    ranks = [body["reference"]["mean_popularity_rank"], version["mean_popularity_rank"]]
    return {
        "backend": "postgresql" if database_url else "sqlite",
        "requests_per_window": requests,
        "impressions": impressions,
        "insert_seconds": round(inserted, 1),
        "monitor_seconds_median": round(statistics.median(seconds), 2),
        "monitor_seconds_max": round(max(seconds), 2),
        # This process's CPU (SQLite runs in it; PostgreSQL's own work is not counted): on a
        # shared host, the part of the wall time that is the monitor's own work.
        "monitor_cpu_seconds_median": round(statistics.median(cpu), 2),
        "item_drift": {k: drift[k] for k in ("statistic", "p_value", "js_distance")},
        "design_effect": drift["design_effect"],
        "coverage": version["coverage"],
        "reference_coverage_at_same_impressions": version["reference_coverage_at_same_impressions"],
        "mean_popularity_rank": ranks,
    }  # fmt: skip


def calibration(nulls: int) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for users in (60, 150, 600):
        corrected = plain = 0
        for seed in range(nulls):
            rng = np.random.default_rng(10_000 + seed)
            result = item_drift(
                exposures(draw_lists(rng, users, 0.8)), exposures(draw_lists(rng, users, 0.8))
            )
            assert result.statistic is not None and result.design_effect is not None
            corrected += result.drifted
            plain += int(stats.chi2.sf(result.statistic * result.design_effect, result.dof) < 0.05)
        power = {}
        for shift in (0.1, 0.2, 0.4):
            hits = sum(
                item_drift(
                    exposures(draw_lists(rng := np.random.default_rng(20_000 + s), users, 0.8)),
                    exposures(draw_lists(rng, users, 0.8 + shift)),
                ).drifted
                for s in range(min(nulls, 200))
            )
            power[str(shift)] = hits / min(nulls, 200)
        found[str(users)] = {
            "false_positive_rate": corrected / nulls,
            "false_positive_rate_uncorrected": plain / nulls,
            "power_by_steepness_shift": power,
        }
        print(users, found[str(users)], flush=True)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--nulls", type=int, default=1_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--only", choices=("timing", "calibration"), default=None)
    args = parser.parse_args()
    out = ROOT / "results" / "ranking_monitor.json"
    results = json.loads(out.read_text()) if out.exists() else {}
    if args.only != "calibration":
        results["timing"] = timing(args.requests, args.database_url)
        print(json.dumps(results["timing"], indent=2), flush=True)
    if args.only != "timing":
        results["calibration"] = {"nulls": args.nulls, "alpha": 0.05, **calibration(args.nulls)}
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"Wrote {out}")


if __name__ == "__main__":
    main()
