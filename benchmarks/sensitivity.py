"""Sensitivity: right, wrong and undecided decisions of interleaving and of an A/B test on CTR.

The same simulated users (same activity, same preferences, same visits; see
``simulation.py``) meet two rankers twice, each time through champion's serving path on a
fresh home: once on an ``interleave`` endpoint (goal ``interleaving``, the sign test) and
once on an ``ab`` endpoint splitting them between the rankers (goal ``ctr``, the delta
method). After the horizon the controller looks once, as a fixed-horizon test should be
looked at, and its decision at the default alpha (0.05) is counted: promoting the ranker
most users prefer is right, promoting the other or rolling back the preferred one is wrong,
anything else is undecided. Repeated over activity spreads (LogNormal sigma) and numbers of
users, this gives each method's curve of decisions.

Target: with sigma = 2, interleaving reaches 95 % right decisions with at least 5x fewer
users than A/B, and wrong decisions stay at or under 5 % at every size, for both methods.

Run from the repository root:

    nice -n 10 .venv/bin/python -m benchmarks.sensitivity --replicates 40 --jobs 2
    nice -n 10 .venv/bin/python -m benchmarks.sensitivity --sigmas 2 --sizes 100,400
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from benchmarks.scenarios import ranked_hour
from benchmarks.simulation import Rig, population, template_home, visits_by_hour

HERE = Path(__file__).parent
SIZES = (50, 100, 200, 400, 800, 1600)
SIGMAS = (0.0, 1.0, 2.0)
METHODS = ("interleaving", "ab")
PREFER_CHALLENGER = 0.7
"""Share of users who prefer the challenger's ranking (the rest prefer the champion's)."""
HOURS = 24
MEAN_VISITS = 3.0


def _deploy(rig: Rig, method: str, seed: int) -> None:
    salt = f"sensitivity-{seed}"
    design: dict[str, Any]
    if method == "interleaving":
        rig.deploy("interleave", {"champion": "ranks/1", "challenger": "ranks/3"}, salt=salt)
        design = {"goal": "interleaving", "method": "interleaving"}
    else:
        arms = {"control": "ranks/1", "challenger": "ranks/3"}
        rig.deploy("ab", {"arms": arms}, salt=salt)
        design = {"goal": "ctr", "method": "delta", "guardrails": []}
    # One look, at the horizon: the fixed-horizon tests' planned sample is every user.
    rig.start({**design, "min_sample": 2, "automation": "manual"})


def decisions(template: Path, home: Path, sigma: float, users: int, seed: int) -> dict[str, str]:
    """Each method's decision (right, wrong, undecided) on one seeded population."""
    rng = np.random.default_rng(seed)
    people = population(
        users, rng, sigma=sigma, mean_visits=MEAN_VISITS,
        share_preferring_challenger=PREFER_CHALLENGER,
    )  # fmt: skip
    visits = visits_by_hour(people, HOURS, rng)
    found = {}
    for method in METHODS:
        clicks = np.random.default_rng([seed, 1])  # the same click coins for both methods
        with Rig.fresh(template, home) as rig:
            _deploy(rig, method, seed)
            for hour, hourly in enumerate(visits):
                ranked_hour(rig, people, hour, hourly, clicks)
            outcome = rig.look(HOURS)
        if outcome is None or outcome.decision not in {"promote", "rollback"}:
            found[method] = "undecided"
        elif outcome.decision == "promote" and outcome.arm == "challenger":
            found[method] = "right"
        else:
            found[method] = "wrong"
    return found


def _cells(job: list[tuple[float, int, int]]) -> list[dict[str, Any]]:
    found = []
    with tempfile.TemporaryDirectory(prefix="champion-sensitivity-") as tmp:
        template = template_home(Path(tmp))
        for sigma, users, seed in job:
            verdicts = decisions(template, Path(tmp) / "run", sigma, users, seed)
            found.append({"sigma": sigma, "users": users, "seed": seed, **verdicts})
    return found


def curves(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per sigma, size and method: the shares of right, wrong and undecided decisions."""
    rows = []
    keys = sorted({(r["sigma"], r["users"]) for r in runs})
    for sigma, users in keys:
        cell = [r for r in runs if (r["sigma"], r["users"]) == (sigma, users)]
        row: dict[str, Any] = {"sigma": sigma, "users": users, "replicates": len(cell)}
        for method in METHODS:
            counts = Counter(r[method] for r in cell)
            row[method] = {k: counts[k] / len(cell) for k in ("right", "wrong", "undecided")}
        rows.append(row)
    return rows


def users_for(rows: list[dict[str, Any]], method: str, level: float = 0.95) -> int | None:
    """The fewest users at which ``method`` made at least ``level`` right decisions."""
    return next((r["users"] for r in rows if r[method]["right"] >= level), None)


def tables(rows: list[dict[str, Any]]) -> str:
    out = []
    for sigma in sorted({r["sigma"] for r in rows}):
        these = [r for r in rows if r["sigma"] == sigma]
        n = these[0]["replicates"]
        out.append(
            f"\n**Activity LogNormal(0, {sigma:g})** ({n} replicates per size; s.e. of a "
            f"share p is sqrt(p(1-p)/{n}), at most {0.5 / math.sqrt(n):.0%})\n"
        )
        out.append(
            "| users | interleaving right | wrong | undecided | A/B right | wrong | undecided |"
        )
        out.append("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for r in these:
            il, ab = r["interleaving"], r["ab"]
            out.append(
                f"| {r['users']:,} | {il['right']:.0%} | {il['wrong']:.0%} | "
                f"{il['undecided']:.0%} | {ab['right']:.0%} | {ab['wrong']:.0%} | "
                f"{ab['undecided']:.0%} |"
            )
        il_users, ab_users = users_for(these, "interleaving"), users_for(these, "ab")
        out.append(
            f"\n95 % right decisions: interleaving at {_users(il_users, these)}, "
            f"A/B at {_users(ab_users, these)}."
        )
    return "\n".join(out)


def _users(found: int | None, rows: list[dict[str, Any]]) -> str:
    return f"> {rows[-1]['users']:,} users" if found is None else f"{found:,} users"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=40, help="Populations per cell.")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="Numbers of users.")
    parser.add_argument("--sigmas", default=",".join(map(str, SIGMAS)), help="Activity spreads.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2, choices=(1, 2))
    parser.add_argument("--out", type=Path, default=HERE / "results" / "sensitivity.json")
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]
    sigmas = [float(s) for s in args.sigmas.split(",")]
    cells = [
        (sigma, users, args.seed + r)
        for sigma in sigmas
        for users in sizes
        for r in range(args.replicates)
    ]
    started = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        parts = pool.map(_cells, [cells[i :: args.jobs] for i in range(args.jobs)])
        runs = [run for part in parts for run in part]
    rows = curves(runs)
    seconds = time.perf_counter() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "replicates": args.replicates,
                "prefer_challenger": PREFER_CHALLENGER,
                "hours": HOURS,
                "mean_visits": MEAN_VISITS,
                "seconds": round(seconds, 1),
                "curves": rows,
                "runs": runs,
            },
            indent=2,
        )
    )
    print(tables(rows))
    print(f"\nWrote {args.out} in {seconds:.0f} s.")


if __name__ == "__main__":
    main()
