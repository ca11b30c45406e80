"""How often the demo's interleaving experiments promote the better ranker: replays.

``--act 1``: the first act's, popularity (recs/1) against item-kNN (recs/2). ``--act 2``: the
second act's, on the pipeline endpoint's last stage: the two learned re-rankers (rerank/1,
mean rating; rerank/2, every feature) each re-rank the retrieval stage's 200 candidates per user.

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
    nice -n 10 .venv/bin/python benchmarks/demo_interleaving.py --act 2 --visits 2
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
from pathlib import Path

import numpy as np
from scipy import stats

from champion.demo.movie_reranker import MovieReranker
from champion.demo.movielens import MovieLensSplit, load_split
from champion.demo.rankers import (
    fit_item_knn,
    retrieval_lists,
    write_item_knn_ranker,
    write_popularity_ranker,
)
from champion.demo.rerankers import write_rerankers
from champion.demo.run import SESSIONS
from champion.demo.second_act import SESSIONS as SECOND_ACT_SESSIONS
from champion.demo.users import react
from champion.evaluation import interleaving_verdict
from champion.evaluation.design import ExperimentDesign
from champion.serving.policies.merging import team_draft

ROOT = Path(__file__).parent.parent
DESIGN = ExperimentDesign(goal="interleaving", method="interleaving", interleaving_test="t")


def _top10(folder: Path) -> dict[str, list[str]]:
    data = json.loads((folder / "lists.json").read_text())
    return {user: [str(item) for item, _ in ranked[:10]] for user, ranked in data["lists"].items()}


def _first_act(split: MovieLensSplit, folder: Path) -> tuple[dict[str, list[str]], ...]:
    return (
        _top10(write_popularity_ranker(split, folder / "pop", "bench")),
        _top10(write_item_knn_ranker(split, folder / "knn", "bench")),
    )


def _second_act(split: MovieLensSplit, folder: Path) -> tuple[dict[str, list[str]], ...]:
    lists = retrieval_lists(split, fit_item_knn(split.train))
    found = []
    for path in write_rerankers(split, lists, folder, "bench").values():
        reranker = MovieReranker()
        reranker.load(path)
        found.append(
            {
                user: [
                    item
                    for item, _ in reranker.rank(
                        user,
                        {"candidates": [i for i, _ in lists[user]],
                         "scores": [s for _, s in lists[user]]},
                        10,
                    )
                ]
                for user in split.truth
            }
        )  # fmt: skip
    return tuple(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--act", type=int, choices=(1, 2), default=1)
    parser.add_argument("--visits", type=int, default=None)
    parser.add_argument("--replays", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    visits = args.visits or (SESSIONS if args.act == 1 else SECOND_ACT_SESSIONS)
    split = load_split(ROOT / "data")
    with tempfile.TemporaryDirectory() as folder:
        act = _first_act if args.act == 1 else _second_act
        champion, challenger = act(split, Path(folder))
    users = sorted(split.truth)
    rng, coin = np.random.default_rng(args.seed), random.Random(args.seed)
    promoted, statistics, preferences, tested = 0, [], [], []
    for _ in range(args.replays):
        wins, losses = [], []
        for user in users:
            won = lost = 0
            for _ in range(visits):
                merged = team_draft(champion[user], challenger[user], 10, coin)
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
    print(f"act {args.act}: {len(users)} users x {visits} visits, {args.replays} replays")
    error = np.sqrt(rate * (1 - rate) / args.replays)
    better = "item-kNN" if args.act == 1 else "the taste re-ranker"
    print(f"promoted {better}: {rate:.3f} (standard error {error:.3f})")
    print(f"users with a preference: {np.mean(tested):.0f}, mean {np.mean(preferences):+.3f}")
    print(
        f"t statistic: mean {t.mean():.2f}, sd {t.std(ddof=1):.2f}; normal approximation of the "
        f"chance to promote: {stats.norm.sf(critical, t.mean(), t.std(ddof=1)):.4f}"
    )


if __name__ == "__main__":
    main()
