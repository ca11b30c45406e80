"""Validity: how often does the controller make a wrong decision when nothing differs?

Monte Carlo through the server's own code path (see ``simulation.py``): each run serves
simulated users through the serving service, commits their clicks through the feedback
committer and lets the rollout controller look and act every few simulated hours, on a
fresh SQLite home. Per scenario it reports the rate of wrong decisions (in a null: any
promotion or rollback naming an arm) and, beside it, the power of the scenarios with a real
difference, each with its Monte Carlo standard error sqrt(p (1 - p) / runs).

Target: in every null scenario, wrong decisions ≤ alpha (0.05) + 2 s.e., the s.e. of a
rate of alpha over the same number of runs (0.119 at 40 runs, 0.081 at 200).

Run from the repository root:

    nice -n 10 .venv/bin/python -m benchmarks.validity --runs 200 --jobs 2
    nice -n 10 .venv/bin/python -m benchmarks.validity --scenario aa-delta --runs 50
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import subprocess
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.scenarios import SCENARIOS, Scenario, classify, run_scenario
from benchmarks.simulation import Rig, template_home

HERE = Path(__file__).parent
ROOT = HERE.parent
ALPHA = 0.05


def _runs(job: tuple[str, list[int]]) -> list[dict[str, Any]]:
    """One worker's share of a scenario's seeds, each on a fresh copy of its template."""
    name, seeds = job
    # A failing challenger is logged with its traceback by the serving service: expected.
    logging.getLogger("champion.serving").setLevel(logging.CRITICAL)
    scenario = SCENARIOS[name]
    found = []
    with tempfile.TemporaryDirectory(prefix="champion-validity-") as tmp:
        template = template_home(Path(tmp))
        for seed in seeds:
            started = time.perf_counter()
            with Rig.fresh(template, Path(tmp) / "run") as rig:
                outcome = run_scenario(rig, scenario, seed)
            found.append(
                {
                    "seed": seed,
                    "verdict": classify(scenario, outcome),
                    "seconds": round(time.perf_counter() - started, 2),
                    **outcome.to_json(),
                }
            )
    return found


def summarise(scenario: Scenario, runs: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(runs)
    counts = Counter(run["verdict"] for run in runs)
    decisions = Counter(run["decision"] for run in runs)

    def rate(verdict: str) -> dict[str, float]:
        p = counts[verdict] / n
        return {"rate": p, "se": math.sqrt(p * (1 - p) / n)}

    wrong = rate("wrong")
    # The bound is alpha plus two standard errors of a rate that is alpha: a valid method
    # stays under it in about 97 % of harness runs, whatever the rate it is compared with.
    bound = ALPHA + 2 * math.sqrt(ALPHA * (1 - ALPHA) / n)
    return {
        "scenario": scenario.name,
        "null": scenario.null,
        "description": scenario.description,
        "design": scenario.to_json(),
        "runs": n,
        "wrong": wrong,
        "right": rate("right"),
        "undecided": rate("undecided"),
        "decisions": dict(decisions),
        "bound": bound if scenario.null else None,
        "within_target": wrong["rate"] <= bound if scenario.null else None,
        "seconds_per_run": sum(run["seconds"] for run in runs) / n,
        "outcomes": runs,
    }


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| scenario | kind | runs | wrong decisions | right (power) | undecided "
        "| target: wrong ≤ 0.05 + 2 s.e. |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        wrong, right = r["wrong"], r["right"]
        target = (
            "-"
            if r["within_target"] is None
            else f"{'ok' if r['within_target'] else 'FAIL'} (≤ {r['bound']:.1%})"
        )
        lines.append(
            f"| {r['scenario']} | {'null' if r['null'] else 'lift'} | {r['runs']} | "
            f"{wrong['rate']:.1%} ± {wrong['se']:.1%} | "
            + ("-" if r["null"] else f"{right['rate']:.1%} ± {right['se']:.1%}")
            + f" | {r['undecided']['rate']:.1%} | {target} |"
        )
    return "\n".join(lines)


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _write(args: argparse.Namespace, results: list[dict[str, Any]], seconds: float) -> None:
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "runs": args.runs,
                "seed": args.seed,
                "jobs": args.jobs,
                "alpha": ALPHA,
                "seconds": round(seconds, 1),
                "commit": _commit(),
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "scenarios": results,
            },
            indent=2,
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="Runs per scenario.")
    parser.add_argument("--seed", type=int, default=0, help="First seed; run i uses seed + i.")
    parser.add_argument(
        "--scenario",
        action="append",
        choices=sorted(SCENARIOS),
        help="Only this scenario (repeat for several); default: all.",
    )
    parser.add_argument("--jobs", type=int, default=2, choices=(1, 2), help="Processes.")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "validity.json")
    args = parser.parse_args()
    names = args.scenario or list(SCENARIOS)
    started = time.perf_counter()
    results: list[dict[str, Any]] = []
    with ProcessPoolExecutor(args.jobs) as pool:
        for name in names:
            seeds = list(range(args.seed, args.seed + args.runs))
            shares = [(name, seeds[i :: args.jobs]) for i in range(args.jobs)]
            runs = sorted(
                (run for part in pool.map(_runs, shares) for run in part),
                key=lambda run: run["seed"],
            )
            results.append(summarise(SCENARIOS[name], runs))
            print(table(results[-1:]).splitlines()[-1], flush=True)
            # Written after every scenario: a long run stopped early keeps what it finished.
            _write(args, results, time.perf_counter() - started)
    seconds = time.perf_counter() - started
    print()
    print(table(results))
    print(f"\nWrote {args.out} in {seconds:.0f} s.")


if __name__ == "__main__":
    main()
