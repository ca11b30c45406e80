"""The compiled fast path: one-row calls of scikit-learn versions, skops vs ONNX, one run.

Two models, each registered as a scikit-learn version and compiled with
``Registry.compile`` (skl2onnx, verified on the version's reference rows):

- ``lr20``: the serving benchmark's 20-feature LogisticRegression (5000 x 20 seeded rows,
  fitted on a NumPy array);
- ``attrition``: the demo's attrition Pipeline (ColumnTransformer: one-hot over 16
  categories, imputed and scaled numbers, then LogisticRegression) on the Telco table;
- ``attrition-boosting``: the demo's GradientBoosting challenger (its float32 ONNX trees
  disagree on held-out rows: refused).

Each is verified on held-out rows (``sample=``), not on its training rows.

Each call is what the server makes once a request is validated: ``Loaded.predict([row])`` of
the loaded version (champion's sklearn flavor builds the DataFrame or array; the onnx flavor
the tensors). Both paths are timed in the same process, alternating blocks of calls over the
same holdout rows, so a loaded machine slows both alike; the ratio is the result.

With ``--http SECONDS`` the same versions are then served by ``champion server`` (event log
on, as shipped), one endpoint per path, and wrk (one thread, one connection: one-row requests
one after the other) calls each for SECONDS, skops and ONNX alternating twice: p50, p99 and
requests/s through HTTP, as a client sees them.

Run: ``nice -n 10 .venv/bin/python benchmarks/compiled.py [--calls 2000] [--data data]
[--http 10]``; writes ``benchmarks/results/compiled.json`` and prints the README tables.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from champion import save_model
from champion.demo.attrition import write_attrition_classifier
from champion.server_process import ServerProcess
from champion.services import Services
from champion.serving.runtime import Runtime
from champion.settings import Settings

HERE = Path(__file__).parent
FEATURES = [f"f{i}" for i in range(20)]
BLOCK = 100  # calls per path before switching to the other


def lr20(folder: Path) -> list[dict[str, Any]]:
    """The serving benchmark's model (benchmarks/make_model.py), saved with save_model."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5000, 20))
    y = (x @ rng.normal(size=20) + rng.normal(size=5000) > 0).astype(int)
    model = LogisticRegression(C=1.0).fit(x, y)
    save_model(model, folder, example=pd.DataFrame(x, columns=FEATURES))
    rows = rng.normal(size=(1000, 20))
    return [dict(zip(FEATURES, map(float, r), strict=True)) for r in rows]


def timed(model: Any, rows: list[dict[str, Any]], calls: int) -> list[float]:
    seconds = []
    for i in range(calls):
        row = [rows[i % len(rows)]]
        start = time.perf_counter()
        model.predict(row)
        seconds.append(time.perf_counter() - start)
    return seconds


def difference(a: list[Any], b: list[Any]) -> tuple[float, bool]:
    largest = max(
        abs(x["probabilities"][k] - y["probabilities"][k])
        for x, y in zip(a, b, strict=True)
        for k in x["probabilities"]
    )
    return largest, all(x["label"] == y["label"] for x, y in zip(a, b, strict=True))


def summary(seconds: list[float]) -> dict[str, float]:
    ms = np.array(seconds) * 1000
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 4),
        "p99_ms": round(float(np.percentile(ms, 99)), 4),
        "calls_per_s": round(float(1000 / ms.mean()), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="one-row calls per path")
    parser.add_argument("--data", type=Path, default=HERE.parent / "data")
    parser.add_argument("--http", type=int, default=0, help="seconds of wrk per path and round")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    served: dict[str, tuple[str, str, dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        settings = Settings(home=root / "home")
        services = Services.open(settings)
        holdouts = {"lr20": lr20(root / "lr20")}
        for name, estimator in (("attrition", "logistic"), ("attrition-boosting", "boosting")):
            holdout = write_attrition_classifier(args.data, root / name, "bench", 0, estimator)  # type: ignore[arg-type]
            holdouts[name] = holdout.rows
        runtime = Runtime(services.registry, services.flavors, settings, settings.runtime_dir)
        for name, rows in holdouts.items():
            source = services.registry.register(root / name, model=name, actor="bench")
            start = time.perf_counter()
            # Verified on rows the model never saw, as a user should: tree thresholds lie
            # between training values, so training rows hide float32 rounding across one.
            sample = pd.DataFrame.from_records(rows)
            compiled = services.registry.compile(str(source.key), actor="bench", sample=sample)
            entry: dict[str, Any] = {
                "compiled": compiled.compiled,
                "reason": compiled.reason,
                "compile_seconds": round(time.perf_counter() - start, 2),
            }
            results[name] = entry
            skops_model = runtime.get(source.key).model
            skops_times: list[float] = []
            if compiled.version is None:
                skops_times = timed(skops_model, rows, min(args.calls, 300))
                entry["skops"] = summary(skops_times)
                print(f"{name}: not compiled: {compiled.reason}")
                continue
            served[name] = (str(source.key), str(compiled.version.key), rows[0])
            onnx_model = runtime.get(compiled.version.key).model
            entry["max_difference"], entry["labels_equal"] = difference(
                skops_model.predict(rows), onnx_model.predict(rows)
            )
            onnx_times: list[float] = []
            timed(skops_model, rows, 20), timed(onnx_model, rows, 20)  # warm both
            for block in range(0, args.calls, BLOCK):
                skops_times += timed(skops_model, rows[block:] + rows[:block], BLOCK)
                onnx_times += timed(onnx_model, rows[block:] + rows[:block], BLOCK)
            entry["skops"], entry["onnx"] = summary(skops_times), summary(onnx_times)
            entry["speedup_p50"] = round(entry["skops"]["p50_ms"] / entry["onnx"]["p50_ms"], 1)
            entry["speedup_calls"] = round(
                entry["onnx"]["calls_per_s"] / entry["skops"]["calls_per_s"], 1
            )
        runtime.close()
        services.close()
        if args.http:
            for name, through in http_phase(settings.home, served, args.http).items():
                results[name]["http"] = through
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "compiled.json").write_text(json.dumps(results, indent=2) + "\n")
    print(
        "| model | path | p50 ms | p99 ms | calls/s | max difference |\n"
        "| --- | --- | ---: | ---: | ---: | ---: |"
    )
    for name, entry in results.items():
        for path in ("skops", "onnx"):
            if path not in entry:
                continue
            s = entry[path]
            diff = f"{entry['max_difference']:.2g}" if path == "onnx" else ""
            print(
                f"| {name} | {path} | {s['p50_ms']:.3f} | {s['p99_ms']:.3f} | "
                f"{s['calls_per_s']:,.0f} | {diff} |"
            )
        if entry["compiled"]:
            print(f"| {name} | ratio | {entry['speedup_p50']}x | | {entry['speedup_calls']}x | |")
        else:
            print(f"| {name} | onnx | not compiled: {entry['reason']} | | | |")

    http_table(results)


def http_phase(
    home: Path, served: dict[str, tuple[str, str, dict[str, Any]]], seconds: int
) -> dict[str, dict[str, Any]]:
    """wrk at one connection against an endpoint per path; two rounds, skops and ONNX taking
    turns, so a change in the machine's load falls on both."""
    from run import parse_wrk

    server = ServerProcess(home)
    server.start()
    results: dict[str, dict[str, Any]] = {}
    try:
        with httpx.Client(base_url=server.url, headers={"X-Champion-Request": "1"}) as client:
            for name, (skops_ref, onnx_ref, row) in served.items():
                body = home / f"{name}.json"
                body.write_text(json.dumps({"instances": [row]}))
                rounds: dict[str, list[dict[str, Any]]] = {"skops": [], "onnx": []}
                for path, ref in (("skops", skops_ref), ("onnx", onnx_ref)):
                    config = {"policy": "single", "params": {"version": ref}}
                    client.put(f"/v1/endpoints/{name}-{path}", json=config).raise_for_status()
                    url = f"{server.url}/v1/endpoints/{name}-{path}/predict"
                    client.post(url, content=body.read_bytes()).raise_for_status()  # loads it
                for _ in range(2):
                    for path in ("skops", "onnx"):
                        url = f"{server.url}/v1/endpoints/{name}-{path}/predict"
                        done = subprocess.run(
                            ["wrk", "-t1", "-c1", f"-d{seconds}s", "--latency",
                             "-s", str(HERE / "post.lua"), url],
                            env=dict(os.environ, BODY=str(body)),
                            capture_output=True, text=True, check=True,
                        )  # fmt: skip
                        measured = parse_wrk(done.stdout)
                        measured.pop("wrk_output")
                        rounds[path].append(measured)
                results[name] = {
                    path: {
                        "p50_ms": round(float(np.median([r["p50_ms"] for r in runs])), 3),
                        "p99_ms": round(float(np.median([r["p99_ms"] for r in runs])), 3),
                        "requests_per_second": round(
                            sum(r["requests"] for r in runs) / (seconds * len(runs)), 1
                        ),
                        "errors": sum(r["non_2xx"] + r["socket_errors"] for r in runs),
                        "rounds": runs,
                    }
                    for path, runs in rounds.items()
                }
    finally:
        server.stop()
    return results


def http_table(results: dict[str, Any]) -> None:
    rows = {name: entry["http"] for name, entry in results.items() if "http" in entry}
    if not rows:
        return
    print(
        "\n| model | path | HTTP p50 ms | HTTP p99 ms | req/s | max difference |\n"
        "| --- | --- | ---: | ---: | ---: | ---: |"
    )
    for name, http in rows.items():
        for path in ("skops", "onnx"):
            s = http[path]
            diff = f"{results[name]['max_difference']:.2g}" if path == "onnx" else ""
            print(
                f"| {name} | {path} | {s['p50_ms']:.3f} | {s['p99_ms']:.3f} | "
                f"{s['requests_per_second']:,.0f} | {diff} |"
            )
        ratio_p50 = http["skops"]["p50_ms"] / http["onnx"]["p50_ms"]
        ratio_rps = http["onnx"]["requests_per_second"] / http["skops"]["requests_per_second"]
        print(f"| {name} | ratio | {ratio_p50:.1f}x | | {ratio_rps:.1f}x | |")


if __name__ == "__main__":
    main()
