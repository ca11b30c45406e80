"""How often the demo's interleaving experiment promotes item-kNN: replays of its first act.

Each replay is the demo's experiment without the server: every MovieLens test user visits
``--visits`` times; the two rankers' top 10 merge by the real team-draft (a fresh seeded coin
per visit, as the server seeds one per request), the real simulated users
(``champion.demo.users.react``) click, each impression is won or lost by the clicks credited
to each ranker, and the real ``interleaving_verdict`` with the demo's design (the t-test over
users at alpha 0.05) decides. The promotion rate over replays is reported with its binomial
standard error, and the t statistics with their spread (the normal approximation of the
chance to miss, when no replay missed).

Run from the repository root (needs data/):

    nice -n 10 .venv/bin/python benchmarks/demo_interleaving.py                # 200 replays
    nice -n 10 .venv/bin/python benchmarks/demo_interleaving.py --visits 24 --replays 50
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
from pathlib import Path

import numpy as np
from scipy import stats

from champion.demo.movielens import load_split
from champion.demo.rankers import write_item_knn_ranker, write_popularity_ranker
from champion.demo.run import SESSIONS
from champion.demo.users import react
from champion.evaluation import interleaving_verdict
from champion.evaluation.design import ExperimentDesign
from champion.serving.policies.interleaving import team_draft

ROOT = Path(__file__).parent.parent
DESIGN = ExperimentDesign(goal="interleaving", method="interleaving", interleaving_test="t")


def _top10(folder: Path) -> dict[str, list[str]]:
    data = json.loads((folder / "lists.json").read_text())
    return {user: [str(item) for item, _ in ranked[:10]] for user, ranked in data["lists"].items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--visits", type=int, default=SESSIONS)
    parser.add_argument("--replays", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    split = load_split(ROOT / "data")
    with tempfile.TemporaryDirectory() as folder:
        popularity = _top10(write_popularity_ranker(split, Path(folder) / "pop", "bench"))
        knn = _top10(write_item_knn_ranker(split, Path(folder) / "knn", "bench"))
    users = sorted(split.truth)
    rng, coin = np.random.default_rng(args.seed), random.Random(args.seed)
    promoted, statistics, preferences, tested = 0, [], [], []
    for _ in range(args.replays):
        wins, losses = [], []
        for user in users:
            won = lost = 0
            for _ in range(args.visits):
                merged = team_draft(popularity[user], knn[user], 10, coin)
                team = dict(merged)
                clicks = [0, 0]
                for reaction in react([item for item, _ in merged], split.truth[user], rng):
                    if reaction.kind == "click":
                        clicks[team[reaction.item]] += 1
                won += clicks[1] > clicks[0]
                lost += clicks[0] > clicks[1]
            wins.append(won)
            losses.append(lost)
        result, verdict = interleaving_verdict(wins, losses, DESIGN)
        promoted += verdict == "better"
        statistics.append(result.statistic)
        preferences.append(result.effect)
        tested.append(sum(w + lo > 0 for w, lo in zip(wins, losses, strict=True)))
    rate = promoted / args.replays
    t = np.array(statistics)
    critical = float(stats.t.ppf(0.975, df=np.mean(tested) - 1))
    print(f"{len(users)} users x {args.visits} visits, {args.replays} replays")
    error = np.sqrt(rate * (1 - rate) / args.replays)
    print(f"promoted item-kNN: {rate:.3f} (standard error {error:.3f})")
    print(f"users with a preference: {np.mean(tested):.0f}, mean {np.mean(preferences):+.3f}")
    print(
        f"t statistic: mean {t.mean():.2f}, sd {t.std(ddof=1):.2f}; normal approximation of the "
        f"chance to promote: {stats.norm.sf(critical, t.mean(), t.std(ddof=1)):.4f}"
    )


if __name__ == "__main__":
    main()
