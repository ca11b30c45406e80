"""A small, seeded run of the sensitivity study (benchmarks/sensitivity.py has the full one)."""

from __future__ import annotations

import json
from pathlib import Path

from champion.demo.cascade import CascadeUsers, attractiveness, held_out_ratings
from champion.demo.movielens import load_split
from champion.demo.rankers import write_item_knn_ranker, write_popularity_ranker
from champion.evaluation.sensitivity import wrong_winner_curve

DATA = Path(__file__).parents[2] / "data"


def _lists(folder: Path) -> dict[str, list[str]]:
    data = json.loads((folder / "lists.json").read_text())
    return {user: [str(item) for item, _ in ranked] for user, ranked in data["lists"].items()}


def test_interleaving_needs_at_least_ten_times_fewer_users_than_ab(tmp_path: Path) -> None:
    split = load_split(DATA)
    ratings = held_out_ratings(split)
    popularity = _lists(write_popularity_ranker(split, tmp_path / "pop", "test"))
    knn = _lists(write_item_knn_ranker(split, tmp_path / "knn", "test"))
    outcomes = CascadeUsers(popularity, knn, ratings).simulate(1, seed=8)
    sizes = [100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600]
    curve = wrong_winner_curve(outcomes, sizes, better="b", replicates=200, seed=0)
    interleaving, ab = curve.users_needed("interleaving", 0.05), curve.users_needed("ab", 0.05)
    assert interleaving is not None and interleaving <= 1600
    assert ab is None or ab >= 10 * interleaving
    # More users, fewer wrong winners, for both methods.
    assert curve.interleaving[0] > curve.interleaving[-1] == 0.0
    assert curve.ab[0] > curve.ab[-1]


def test_attractiveness_follows_the_held_out_rating() -> None:
    assert attractiveness(5.0) > attractiveness(4.0) > attractiveness(3.0) > attractiveness(1.0)
    assert attractiveness(None) < attractiveness(1.0)
