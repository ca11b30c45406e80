"""Two recommenders of different quality, each written as a champion model folder.

Both precompute a ranked list per known user (cheap to serve, as many production recommenders
do) and fall back to the most popular movies for anyone else; they differ in how lists are made:

1. popularity: the most-liked movies of the training period, the same for everyone;
2. item-kNN: movies similar (cosine over who liked them) to what the user liked.

The second act's retrieval stage is a third list ranker from the same item-kNN fit: each
user's ``CANDIDATES`` best movies, handed to a learned re-ranker (``demo.rerankers``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy import sparse

from champion.artifacts import sha256_file
from champion.demo.movielens import POSITIVE, MovieLensSplit

__all__ = [
    "ItemKnn",
    "fit_item_knn",
    "hit_rate_at_k",
    "popular_items",
    "retrieval_lists",
    "retrieved",
    "write_item_knn_ranker",
    "write_popularity_ranker",
    "write_retrieval_ranker",
]

LIST_LENGTH = 100
CANDIDATES = 200
"""How many movies the retrieval stage hands the re-ranker."""

# The module champion imports from the version folder; it must not import champion itself.
RANKER_SOURCE = '''"""Serves precomputed ranked lists, skipping what the user has already seen."""

import json
from pathlib import Path


class ListRanker:
    def load(self, path: Path) -> None:
        data = json.loads((path / "lists.json").read_text())
        self.lists = data["lists"]
        self.fallback = data["fallback"]

    def rank(self, unit, context, k):
        return self.lists.get(unit, self.fallback)[:k]
'''


def _popularity(split: MovieLensSplit) -> list[tuple[str, float]]:
    positives = split.train[split.train["rating"] >= POSITIVE]
    counts = positives["movieId"].value_counts()
    return [(str(item), float(count)) for item, count in counts.head(2000).items()]


def _unseen(
    ranked: Iterable[tuple[str, float]], seen: set[str], length: int = LIST_LENGTH
) -> list[list[Any]]:
    out: list[list[Any]] = []
    for item, score in ranked:
        if item not in seen:
            out.append([item, round(score, 6)])
            if len(out) == length:
                break
    return out


def write_popularity_ranker(split: MovieLensSplit, folder: Path, code_version: str) -> Path:
    popular = _popularity(split)
    lists = {user: _unseen(popular, seen) for user, seen in split.seen.items()}
    return _write(
        folder,
        split,
        lists,
        _unseen(popular, set()),
        code_version,
        name="popularity",
        params={"ranking": "count of ratings >= 4 in train"},
    )


@dataclass(frozen=True)
class ItemKnn:
    """Item-kNN fitted on some ratings: every user's score for every liked-by-someone movie."""

    users: dict[str, int]
    items: np.ndarray
    scores: np.ndarray
    neighbours: int

    def ranked(self, user: str, seen: set[str], length: int) -> list[tuple[str, float]]:
        """The user's ``length`` best-scored movies they have not rated (fewer when fewer
        score above 0; none for a user who liked nothing)."""
        row = self.users.get(user)
        if row is None:
            return []
        scores = self.scores[row]
        order = np.argsort(-scores)[: length + len(seen)]
        order = order[scores[order] > 0]
        ranked = [
            (item, score)
            for item, score in zip(self.items[order].tolist(), scores[order].tolist(), strict=True)
            if item not in seen
        ]
        return ranked[:length]


def fit_item_knn(ratings: pd.DataFrame, neighbours: int = 50) -> ItemKnn:
    """Cosine similarity of movies over who liked them (each movie's ``neighbours`` nearest
    kept); a user's score for a movie sums its similarity to the movies they liked."""
    positives = ratings[ratings["rating"] >= POSITIVE]
    users = sorted(positives["userId"].unique())
    items = sorted(positives["movieId"].unique())
    user_index = {str(u): i for i, u in enumerate(users)}
    item_index = {m: i for i, m in enumerate(items)}
    matrix = sparse.csr_matrix(
        (
            np.ones(len(positives)),
            (positives["userId"].map(user_index), positives["movieId"].map(item_index)),
        ),
        shape=(len(users), len(items)),
    )
    norms = np.sqrt(np.asarray(matrix.sum(axis=0))).ravel()
    norms[norms == 0] = 1.0
    normalised = sparse.csc_matrix(matrix.multiply(1.0 / norms))
    similarity = (normalised.T @ normalised).tocsr()
    similarity.setdiag(0.0)
    similarity = _top_per_row(similarity, neighbours)
    scores = (matrix @ similarity).toarray()
    return ItemKnn(user_index, np.array(items), scores, neighbours)


def write_item_knn_ranker(
    split: MovieLensSplit, folder: Path, code_version: str, fit: ItemKnn | None = None
) -> Path:
    """``fit``: item-kNN fitted on ``split.train`` already (fitted here if not given)."""
    knn = fit or fit_item_knn(split.train)
    popular = _popularity(split)
    lists = {
        user: _unseen(knn.ranked(user, seen, LIST_LENGTH) + popular, seen)
        for user, seen in split.seen.items()
    }
    return _write(
        folder,
        split,
        lists,
        _unseen(popular, set()),
        code_version,
        name="item-kNN",
        params={"neighbours": knn.neighbours, "similarity": "cosine on liked-by sets"},
    )


def retrieved(fit: ItemKnn, popular: list[str], user: str, seen: set[str]) -> list[list[Any]]:
    """What the retrieval stage hands on for ``user``: their ``CANDIDATES`` best unseen movies
    by ``fit``, topped up from ``popular`` at score 0 (no similarity to what they liked)."""
    ranked = fit.ranked(user, seen, CANDIDATES)
    taken = seen | {item for item, _ in ranked}
    for item in popular:
        if len(ranked) == CANDIDATES:
            break
        if item not in taken:
            ranked.append((item, 0.0))
    return [[item, round(score, 6)] for item, score in ranked]


def popular_items(ratings: pd.DataFrame) -> list[str]:
    """Movies by how many liked them in ``ratings``, most liked first."""
    counts = ratings.loc[ratings["rating"] >= POSITIVE, "movieId"].value_counts()
    return [str(item) for item in counts.index]


def retrieval_lists(split: MovieLensSplit, fit: ItemKnn) -> dict[str, list[list[Any]]]:
    """``retrieved`` for every user, by ``fit`` (item-kNN on ``split.train``)."""
    popular = popular_items(split.train)
    return {user: retrieved(fit, popular, user, seen) for user, seen in split.seen.items()}


def write_retrieval_ranker(
    split: MovieLensSplit, folder: Path, code_version: str, lists: dict[str, list[list[Any]]]
) -> Path:
    """The retrieval stage, serving ``lists`` (``retrieval_lists``)."""
    fallback = [[item, 0.0] for item in popular_items(split.train)[:CANDIDATES]]
    return _write(
        folder,
        split,
        lists,
        fallback,
        code_version,
        name="item-kNN retrieval",
        params={"candidates": CANDIDATES, "similarity": "cosine on liked-by sets"},
    )


def _top_per_row(matrix: sparse.csr_matrix, keep: int) -> sparse.csr_matrix:
    rows, cols, vals = [], [], []
    for r in range(matrix.shape[0]):
        start, end = matrix.indptr[r], matrix.indptr[r + 1]
        data, index = matrix.data[start:end], matrix.indices[start:end]
        if len(data) > keep:
            top = np.argpartition(-data, keep)[:keep]
            data, index = data[top], index[top]
        rows.extend([r] * len(data))
        cols.extend(index.tolist())
        vals.extend(data.tolist())
    return sparse.csr_matrix((vals, (rows, cols)), shape=matrix.shape)


def hit_rate_at_k(
    lists: dict[str, list[list[Any]]],
    fallback: list[list[Any]],
    truth: dict[str, set[str]],
    k: int = 10,
) -> tuple[float, float]:
    """Share of test users with a held-out positive in their top k, and precision at k."""
    hits, precision = 0, 0.0
    for user, relevant in truth.items():
        top = [item for item, _ in lists.get(user, fallback)[:k]]
        found = sum(item in relevant for item in top)
        hits += found > 0
        precision += found / k
    return hits / len(truth), precision / len(truth)


def _write(
    folder: Path,
    split: MovieLensSplit,
    lists: dict[str, list[list[Any]]],
    fallback: list[list[Any]],
    code_version: str,
    name: str,
    params: dict[str, Any],
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ranker.py").write_text(RANKER_SOURCE)
    (folder / "lists.json").write_text(json.dumps({"lists": lists, "fallback": fallback}))
    hit_rate, precision = hit_rate_at_k(lists, fallback, split.truth)
    manifest = {
        "kind": "ranker",
        "flavor": "python",
        "class": "ranker:ListRanker",
        "lineage": {
            "trained_by": "champion-demo",
            "data": {
                "location": "data/movielens-latest-small/ratings.csv",
                "fingerprint": "sha256:" + sha256_file(split.ratings_path),
                "rows": len(split.train),
            },
            "code_version": code_version,
            "params": params | {"holdout_share_per_user": split.holdout_share},
            "metrics": {
                "hit_rate_at_10": round(hit_rate, 4),
                "precision_at_10": round(precision, 4),
            },
            "description": f"{name} recommender for MovieLens users",
            "tags": {"dataset": "movielens-latest-small", "algorithm": name},
        },
    }
    (folder / "champion.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    return folder
