"""What a pipeline endpoint costs: one request through two stages against the client calling
the two versions' endpoints back to back, on one real server.

    nice -n 10 .venv/bin/python benchmarks/pipeline_overhead.py   # 3 rounds of 1,000 each way

``single``: endpoint ``risk`` alone (one request, one model). ``back_to_back``: the client
asks ``risk``, then sends its answer to endpoint ``offer`` (two HTTP requests, two prediction
events). ``pipeline``: one request to endpoint ``chain``, whose stages are the same two
versions (``offer`` reads ``risk.risk``): one HTTP request, two stage events. All use the
tests' tiny python-flavor models, so the numbers are the serving path's, not a model's.

The second stage costs ``pipeline - single`` inside a pipeline (its model call, its input
mapping, its event) and ``back_to_back - single`` as a second request. Requests are
sequential, one connection (the latency a client sees); the modes take turns, round by
round, so a busy host slows all of them alike.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from drift_serving import _summary  # noqa: E402  # the same percentiles as that benchmark

from champion.server_process import ServerProcess  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "models"
ROW = {"tenure": 3, "charges": 12.5, "contract": "Month-to-month"}
STAGES = [
    {"name": "risk", "model": "risk@champion"},
    {
        "name": "offer",
        "model": "offer@champion",
        "inputs": {"risk": "risk.risk", "contract": "request.contract"},
    },
]


def _setup(home: Path) -> None:
    from champion.services import Services
    from champion.settings import Settings

    services = Services.open(Settings(home=home))
    try:
        for model in ("risk", "offer"):
            folder = home / model
            shutil.copytree(FIXTURES / model, folder)
            services.registry.register(
                folder, model=model, actor="bench", aliases_to_set=("champion",)
            )
            services.endpoints.set(model, "single", {"version": f"{model}@champion"}, actor="bench")
        services.endpoints.set("chain", "stages", {"stages": STAGES}, actor="bench")
    finally:
        services.close()


def _single(client: httpx.Client, unit: str) -> None:
    answer = client.post("/v1/endpoints/risk/predict", json={"unit": unit, "instances": [ROW]})
    answer.raise_for_status()


def _back_to_back(client: httpx.Client, unit: str) -> None:
    first = client.post("/v1/endpoints/risk/predict", json={"unit": unit, "instances": [ROW]})
    risk = first.raise_for_status().json()["predictions"][0]["risk"]
    row = {"risk": risk, "contract": ROW["contract"]}
    second = client.post("/v1/endpoints/offer/predict", json={"unit": unit, "instances": [row]})
    second.raise_for_status()


def _pipeline(client: httpx.Client, unit: str) -> None:
    answer = client.post("/v1/endpoints/chain/predict", json={"unit": unit, "instances": [ROW]})
    assert len(answer.raise_for_status().json()["stages"]) == 2


CALLS = {"single": _single, "back_to_back": _back_to_back, "pipeline": _pipeline}


def _round(client: httpx.Client, mode: str, n: int) -> list[float]:
    call = CALLS[mode]
    wall = []
    for i in range(n):
        started = time.perf_counter()
        call(client, f"u{i}")
        wall.append((time.perf_counter() - started) * 1000)
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    modes = tuple(CALLS)
    wall: dict[str, list[float]] = {mode: [] for mode in modes}
    with tempfile.TemporaryDirectory(prefix="pipeline-overhead-") as folder:
        home = Path(folder)
        _setup(home)
        server = ServerProcess(home)
        server.start()
        try:
            with httpx.Client(
                base_url=server.url, timeout=30, headers={"X-Champion-Request": "1"}
            ) as client:
                for mode in modes:
                    _round(client, mode, 100)  # warm-up: loaded versions, placement
                for _ in range(args.rounds):
                    for mode in modes:
                        wall[mode] += _round(client, mode, args.requests)
        finally:
            server.stop()
    results: dict[str, Any] = {"requests": args.requests, "rounds": args.rounds}
    for mode in modes:
        results[mode] = _summary(wall[mode])
    single = results["single"]["p50_ms"]
    results["second_stage_ms_p50"] = {
        "in_a_pipeline": results["pipeline"]["p50_ms"] - single,
        "as_a_second_request": results["back_to_back"]["p50_ms"] - single,
    }
    out = ROOT / "benchmarks" / "results" / "pipeline_overhead.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print("| mode | p50 ms | p99 ms | mean ms |\n| --- | ---: | ---: | ---: |")
    for mode in modes:
        r = results[mode]
        print(f"| {mode} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['mean_ms']:.2f} |")
    second = results["second_stage_ms_p50"]
    print(
        f"second stage (p50): {second['in_a_pipeline']:.2f} ms in a pipeline, "
        f"{second['as_a_second_request']:.2f} ms as a second request"
    )


if __name__ == "__main__":
    main()
