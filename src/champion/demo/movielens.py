"""MovieLens latest-small, split in time per user: train on each user's first 80 % of ratings,
judge recommendations on the movies they liked later."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

__all__ = ["MovieLensSplit", "load_split"]

POSITIVE = 4.0


@dataclass(frozen=True)
class MovieLensSplit:
    train: pd.DataFrame
    holdout_share: float
    truth: dict[str, set[str]]
    """Held-out positives per test user: movies rated >= 4 after the cutoff."""
    seen: dict[str, set[str]]
    """Movies each user rated before the cutoff (never recommended again)."""
    ratings_path: Path


def load_split(
    data_dir: Path, holdout_share: float = 0.2, min_positives: int = 3
) -> MovieLensSplit:
    path = data_dir / "movielens-latest-small" / "ratings.csv"
    ratings = pd.read_csv(path, dtype={"userId": str, "movieId": str})
    ratings = ratings.sort_values(["userId", "timestamp", "movieId"], kind="stable")
    # Each user's position in their own history: the latest share is held out.
    order = ratings.groupby("userId").cumcount()
    size = ratings.groupby("userId")["movieId"].transform("size")
    is_test = order >= (size * (1 - holdout_share)).round()
    train = ratings[~is_test]
    test = ratings[is_test & (ratings["rating"] >= POSITIVE)]
    seen = {str(user): set(group["movieId"]) for user, group in train.groupby("userId")}
    truth = {
        str(user): set(group["movieId"]) - seen.get(str(user), set())
        for user, group in test.groupby("userId")
        if user in seen
    }
    truth = {user: items for user, items in truth.items() if len(items) >= min_positives}
    return MovieLensSplit(train, holdout_share, truth, seen, path)
