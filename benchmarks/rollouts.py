"""Rollout overhead: interleaving vs single rankers, and a 200 ms shadow vs no shadow.

One champion server holds five endpoints; wrk (1 connection) measures each in turn:

* ``rank-1``, ``rank-2``: each MovieLens recommender alone (``single``);
* ``rank-interleave``: both, merged by team-draft; target: p50 at most 1 ms above the slower
  model's own endpoint, both models being called concurrently;
* ``score``: the 20-feature logistic regression alone;
* ``score-shadow``: the same, with a challenger that sleeps 200 ms in shadow; target: p99 equal
  to ``score``'s within noise.

Run from the repository root (needs wrk and the data/ folder):

    .venv/bin/python benchmarks/rollouts.py            # --duration 10
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
import yaml
from run import BUILD, CHAMPION, HERE, ROOT, Server, exclusive, free_port, stop, wait_ready, wrk

from champion.demo.movielens import load_split
from champion.demo.rankers import write_item_knn_ranker, write_popularity_ranker

SLOW_MODEL = """import time


class SlowModel:
    def predict(self, instances):
        time.sleep(0.2)
        return [{"label": 0} for _ in instances]
"""


def build(tmp: Path) -> dict[str, Path]:
    """Model folders: two rankers, and a challenger that takes 200 ms per call."""
    subprocess.run([sys.executable, str(HERE / "make_model.py")], check=True)
    split = load_split(ROOT / "data")
    slow = tmp / "slow"
    slow.mkdir()
    (slow / "slow.py").write_text(SLOW_MODEL)
    manifest = yaml.safe_load((BUILD / "champion_model" / "champion.yaml").read_text())
    manifest = {
        "kind": "classifier",
        "flavor": "python",
        "class": "slow:SlowModel",
        "signature": manifest["signature"],
    }
    (slow / "champion.yaml").write_text(yaml.safe_dump(manifest))
    return {
        "recs-1": write_popularity_ranker(split, tmp / "recs-1", "benchmark"),
        "recs-2": write_item_knn_ranker(split, tmp / "recs-2", "benchmark"),
        "score-1": BUILD / "champion_model",
        "score-2": slow,
    }


def configure(home: Path, models: dict[str, Path]) -> None:
    env = dict(os.environ, CHAMPION_HOME=str(home))
    commands = [
        ["models", "register", str(models["recs-1"]), "--model", "recs"],
        ["models", "register", str(models["recs-2"]), "--model", "recs"],
        ["models", "register", str(models["score-1"]), "--model", "score"],
        ["models", "register", str(models["score-2"]), "--model", "score"],
        ["endpoints", "set", "rank-1", "--version", "recs/1"],
        ["endpoints", "set", "rank-2", "--version", "recs/2"],
        ["endpoints", "set", "rank-interleave", "--policy", "interleave",
         "--param", "champion=recs/1", "--param", "challenger=recs/2"],
        ["endpoints", "set", "score", "--version", "score/1"],
        ["endpoints", "set", "score-shadow", "--policy", "shadow",
         "--param", "champion=score/1", "--param", "challenger=score/2"],
    ]  # fmt: skip
    for args in commands:
        subprocess.run([str(CHAMPION), *args], env=env, check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=10)
    args = parser.parse_args()
    with exclusive(), tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        configure(tmp / "home", build(tmp))
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = tmp / "server.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [
                    str(CHAMPION),
                    "server",
                    "--port",
                    str(port),
                    "--log-level",
                    "warning",
                    "--workers",
                    "1",
                ],
                env=dict(os.environ, CHAMPION_HOME=str(tmp / "home")),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        user = sorted(load_split(ROOT / "data").truth)[0]
        rank_body = tmp / "rank.json"
        rank_body.write_text(json.dumps({"unit": user, "k": 10}))
        score_body = BUILD / "payload_champion.json"
        server = Server("champion", process, "", rank_body, log, base)
        results: dict[str, Any] = {}
        try:
            wait_ready(f"{base}/v1/health", server)
            for endpoint in ("rank-1", "rank-2", "rank-interleave", "score", "score-shadow"):
                kind = "rank" if endpoint.startswith("rank") else "predict"
                body = rank_body if kind == "rank" else score_body
                target = Server(
                    "champion", process, f"{base}/v1/endpoints/{endpoint}/{kind}", body, log, base
                )
                wrk(target, 1, 2)  # warm-up
                measured = wrk(target, 1, args.duration)
                measured.pop("wrk_output")
                results[endpoint] = measured
                print(
                    f"{endpoint}: p50 {measured['p50_ms']:.2f} ms, p99 {measured['p99_ms']:.2f} ms",
                    file=sys.stderr,
                )
            metrics = httpx.get(f"{base}/metrics").text
        finally:
            stop(server)
    skipped = sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("champion_shadows_skipped_total{")
    )
    slower = max(results["rank-1"]["p50_ms"], results["rank-2"]["p50_ms"])
    report = {
        "results": results,
        "interleave_p50_added_ms": round(results["rank-interleave"]["p50_ms"] - slower, 3),
        "shadow_p99_ratio": round(
            results["score-shadow"]["p99_ms"] / results["score"]["p99_ms"], 3
        ),
        "shadow_calls_skipped": skipped,
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "rollouts.json").write_text(json.dumps(report, indent=2))
    print("| endpoint | policy | req/s | p50 ms | p99 ms |")
    print("| --- | --- | ---: | ---: | ---: |")
    policies = {
        "rank-1": "single (popularity)",
        "rank-2": "single (item-kNN)",
        "rank-interleave": "interleave (team-draft)",
        "score": "single",
        "score-shadow": "shadow (200 ms challenger)",
    }
    for endpoint, measured in results.items():
        print(
            f"| {endpoint} | {policies[endpoint]} | {measured['requests_per_second']:,.0f} | "
            f"{measured['p50_ms']:.2f} | {measured['p99_ms']:.2f} |"
        )
    print(
        f"\nInterleaving adds {report['interleave_p50_added_ms']:.2f} ms to the slower model's "
        f"p50 (target < 1 ms). Shadow p99 / no-shadow p99 = {report['shadow_p99_ratio']:.2f}; "
        f"{skipped:,.0f} shadow calls were skipped while the 200 ms challenger was busy."
    )


if __name__ == "__main__":
    main()
