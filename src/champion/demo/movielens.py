"""MovieLens latest-small, split in time, two ways.

- ``load_split``: per user, train on each user's first 80 % of ratings and judge on the movies
  they liked later (every active user gets a test period: many simulated users).
- ``time_split``: one global cutoff at the 80th percentile of timestamps, train before it and
  test after it, so no model ever sees the future of another user (the honest offline check).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["MovieLensSplit", "TimeSplit", "load_split", "time_split"]

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


RATINGS = Path("movielens-latest-small") / "ratings.csv"


@dataclass(frozen=True)
class TimeSplit:
    """Ratings split at one global cutoff time, with the test users' ground truth.

    Ids are the dataset's integers (``userId``, ``movieId``); servers see users as strings.
    """

    train: pd.DataFrame
    """Ratings strictly before ``cutoff`` (every user, every rating value)."""
    test: pd.DataFrame
    """Ratings at or after ``cutoff``."""
    cutoff: float
    """Unix time of the split: the ``quantile`` of all rating timestamps."""
    truth: dict[int, frozenset[int]]
    """Per test user: the movies they rated >= 4 after the cutoff (held-out positives)."""
    seen: dict[int, frozenset[int]]
    """Per test user: the movies they rated before the cutoff (never to be recommended)."""
    ratings_path: Path
    ratings_sha256: str
    """Hex digest of ``ratings.csv``: the data fingerprint written into the lineage."""


def time_split(data_dir: Path, quantile: float = 0.8, min_positives: int = 3) -> TimeSplit:
    """Split MovieLens ratings at a global time cutoff.

    Parameters
    ----------
    data_dir
        Folder holding ``movielens-latest-small/ratings.csv``.
    quantile
        Share of ratings (by timestamp) that falls before the cutoff.
    min_positives
        Test users need at least this many held-out positives (ratings >= 4 after the cutoff),
        and at least one rating before it.

    Returns
    -------
    TimeSplit
        Train and test frames, the cutoff, and per test user the held-out positives and the
        movies seen in train.
    """
    path = data_dir / RATINGS
    ratings = pd.read_csv(
        path,
        dtype={"userId": "int64", "movieId": "int64", "rating": "float64", "timestamp": "int64"},
    )
    cutoff = float(np.quantile(ratings["timestamp"].to_numpy(), quantile))
    before = ratings["timestamp"] < cutoff
    train = ratings[before].reset_index(drop=True)
    test = ratings[~before].reset_index(drop=True)
    seen_all = {int(u): frozenset(g.tolist()) for u, g in train.groupby("userId")["movieId"]}
    liked = test[test["rating"] >= POSITIVE]
    truth: dict[int, frozenset[int]] = {}
    for user, movies in liked.groupby("userId")["movieId"]:
        # A user rates a movie once, so held-out positives never overlap what they saw in train.
        items = frozenset(movies.tolist())
        if int(user) in seen_all and len(items) >= min_positives:
            truth[int(user)] = items
    seen = {user: seen_all[user] for user in truth}
    return TimeSplit(train, test, cutoff, truth, seen, path, _sha256(path))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
