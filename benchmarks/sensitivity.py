"""Sensitivity: how many users do interleaving and an A/B test on CTR need to pick the winner?

A click simulation built from MovieLens (champion.demo.cascade: cascade clicks, attractiveness
from held-out ratings, log-normal sessions per user) serves two rankers to a population of
simulated users; the protocol of Netflix's interleaving study then resamples users
(champion.evaluation.sensitivity): N users interleaved against N/2 users per A/B cell, counting
how often each experiment names the worse ranker.

Run from the repository root (needs data/):

    .venv/bin/python benchmarks/sensitivity.py                   # --replicates 1000
    .venv/bin/python benchmarks/sensitivity.py --quick           # fewer users and resamples
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from champion.demo.cascade import CascadeUsers, held_out_ratings
from champion.demo.movielens import load_split
from champion.demo.rankers import write_item_knn_ranker, write_popularity_ranker
from champion.evaluation.sensitivity import wrong_winner_curve

HERE = Path(__file__).parent
ROOT = HERE.parent
SIZES = [25, 50, 100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 102400]
LEVELS = (0.20, 0.10, 0.05, 0.01)


def _lists(folder: Path) -> dict[str, list[str]]:
    data = json.loads((folder / "lists.json").read_text())
    lists = {user: [str(item) for item, _ in ranked] for user, ranked in data["lists"].items()}
    return lists


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=1000, help="Resamples per size.")
    parser.add_argument("--population", type=int, default=16, help="Simulated users per user.")
    parser.add_argument("--seeds", default="7,8,9", help="One simulated population per seed.")
    parser.add_argument("--quick", action="store_true", help="200 resamples, 2 per user.")
    parser.add_argument("--no-grid", action="store_true", help="Skip the heterogeneity grid.")
    args = parser.parse_args()
    if args.quick:
        args.replicates, args.population = 200, 2
    args.seeds = [int(seed) for seed in args.seeds.split(",")]
    started = time.perf_counter()
    split = load_split(ROOT / "data")
    ratings = held_out_ratings(split)
    with tempfile.TemporaryDirectory() as tmp:
        folders = {
            "popularity": write_popularity_ranker(split, Path(tmp) / "pop", "bench"),
            "item-kNN (50)": write_item_knn_ranker(split, Path(tmp) / "knn50", "bench"),
            "item-kNN (10)": write_item_knn_ranker(
                split, Path(tmp) / "knn10", "bench", neighbours=10
            ),
        }
        lists = {name: _lists(folder) for name, folder in folders.items()}
    # Each seed draws its own simulated population: the spread across seeds is how much the
    # answer depends on which heavy users happen to exist.
    runs = [("popularity", "item-kNN (50)", seed) for seed in args.seeds]
    runs.append(("item-kNN (10)", "item-kNN (50)", args.seeds[0]))
    results: list[dict[str, Any]] = []
    for a, b, seed in runs:
        outcomes = CascadeUsers(lists[a], lists[b], ratings).simulate(args.population, seed=seed)
        results.append(_study(a, b, seed, outcomes, args.replicates))
        _print(results[-1])
    grid = _heterogeneity(lists, ratings, args) if not args.no_grid else []
    out = HERE / "results" / "sensitivity.json"
    out.write_text(
        json.dumps(
            {
                "replicates": args.replicates,
                "population_per_user": args.population,
                "seconds": round(time.perf_counter() - started, 1),
                "pairs": results,
                "heterogeneity": grid,
            },
            indent=2,
        )
    )
    print(f"\nWrote {out.relative_to(ROOT)} in {time.perf_counter() - started:.0f} s.")


def _study(a: str, b: str, seed: int, outcomes: Any, replicates: int) -> dict[str, Any]:
    total = {name: float(np.sum(getattr(outcomes, name))) for name in vars(outcomes)}
    ctr_a, ctr_b = total["clicks_a"] / total["shown_a"], total["clicks_b"] / total["shown_b"]
    better = "b" if ctr_b > ctr_a else "a"
    curve = wrong_winner_curve(outcomes, SIZES, better=better, replicates=replicates, seed=0)
    wins, losses = total["wins"], total["losses"]
    return {
        "a": a,
        "b": b,
        "seed": seed,
        "simulated_users": outcomes.users,
        "ctr_a": ctr_a,
        "ctr_b": ctr_b,
        "interleaving_delta": (wins - losses) / (2 * (wins + losses)),
        "better": b if better == "b" else a,
        "curve": curve.to_json(),
        "users_needed": {
            str(level): {
                "interleaving": curve.users_needed("interleaving", level),
                "ab": curve.users_needed("ab", level),
                "factor": curve.factor(level),
            }
            for level in LEVELS
        },
    }


def _print(result: dict[str, Any]) -> None:
    curve = result["curve"]
    print(
        f"\n### {result['a']} vs {result['b']}, seed {result['seed']} "
        f"({result['simulated_users']} simulated users; "
        f"CTR {result['ctr_a']:.4f} vs {result['ctr_b']:.4f}, interleaving Δ_AB "
        f"{result['interleaving_delta']:+.4f}; better: {result['better']})\n"
    )
    print("| users N | interleaving wrong | A/B wrong (N/2 per cell) |")
    print("| ---: | ---: | ---: |")
    rows = zip(curve["sizes"], curve["interleaving_wrong"], curve["ab_wrong"], strict=True)
    for n, il, ab in rows:
        print(f"| {n:,} | {il:.1%} | {ab:.1%} |")
    print("\n| wrong-winner rate | interleaving users | A/B users | factor |")
    print("| ---: | ---: | ---: | ---: |")
    for level, needed in result["users_needed"].items():
        print(
            f"| {float(level):.0%} | {_users(needed['interleaving'])} | {_users(needed['ab'])} | "
            f"{_times(needed['factor'])} |"
        )


def _heterogeneity(
    lists: dict[str, dict[str, list[str]]], ratings: dict[str, dict[str, float]], args: Any
) -> list[dict[str, Any]]:
    """The factor at a 5 % wrong-winner rate as engagement gets more or less heavy-tailed."""
    print("\n### How the factor depends on engagement (popularity vs item-kNN (50))\n")
    print("| sessions sd (log) | propensity sd (log) | interleaving users | A/B users | factor |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    grid = []
    for sessions_sd in (0.5, 1.0, 1.5):
        for propensity_sd in (0.5, 1.0, 1.5):
            users = CascadeUsers(
                lists["popularity"],
                lists["item-kNN (50)"],
                ratings,
                sd_log_sessions=sessions_sd,
                sd_log_propensity=propensity_sd,
            )
            outcomes = users.simulate(max(2, args.population // 2), seed=11)
            total = {name: float(np.sum(getattr(outcomes, name))) for name in vars(outcomes)}
            better = (
                "b"
                if total["clicks_b"] / total["shown_b"] > total["clicks_a"] / total["shown_a"]
                else "a"
            )
            curve = wrong_winner_curve(
                outcomes, SIZES, better=better, replicates=max(200, args.replicates // 3), seed=1
            )
            row = {
                "sessions_sd": sessions_sd,
                "propensity_sd": propensity_sd,
                "interleaving": curve.users_needed("interleaving", 0.05),
                "ab": curve.users_needed("ab", 0.05),
                "factor": curve.factor(0.05),
            }
            grid.append(row)
            factor = "-" if row["factor"] is None else f"{row['factor']:.0f}x"
            print(
                f"| {sessions_sd} | {propensity_sd} | {_users(row['interleaving'])} | "
                f"{_users(row['ab'])} | {factor} |"
            )
    return grid


def _times(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}x"


def _users(value: float | None) -> str:
    return f"> {SIZES[-1]:,}" if value is None else f"{value:,.0f}"


if __name__ == "__main__":
    main()
