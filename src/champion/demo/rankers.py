"""Two recommenders of different quality, each written as a champion model folder.

Both precompute a ranked list per known user (cheap to serve, as many production recommenders
do) and fall back to the most popular movies for anyone else; they differ in how lists are made:

1. popularity: the most-liked movies of the training period, the same for everyone;
2. item-kNN: movies similar (cosine over who liked them) to what the user liked.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from scipy import sparse

from champion.artifacts import sha256_file
from champion.demo.movielens import POSITIVE, MovieLensSplit

__all__ = ["hit_rate_at_k", "write_item_knn_ranker", "write_popularity_ranker"]

LIST_LENGTH = 100

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


def _unseen(ranked: Iterable[tuple[str, float]], seen: set[str]) -> list[list[Any]]:
    out: list[list[Any]] = []
    for item, score in ranked:
        if item not in seen:
            out.append([item, round(score, 6)])
            if len(out) == LIST_LENGTH:
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


def write_item_knn_ranker(
    split: MovieLensSplit, folder: Path, code_version: str, neighbours: int = 50
) -> Path:
    positives = split.train[split.train["rating"] >= POSITIVE]
    users = sorted(positives["userId"].unique())
    items = sorted(positives["movieId"].unique())
    user_index = {u: i for i, u in enumerate(users)}
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
    popular = _popularity(split)
    item_ids = np.array(items)
    lists = {}
    for user, seen in split.seen.items():
        row = user_index.get(user)
        if row is None:
            lists[user] = _unseen(popular, seen)
            continue
        order = np.argsort(-scores[row])[: LIST_LENGTH + len(seen)]
        ranked = [(str(item_ids[i]), float(scores[row, i])) for i in order if scores[row, i] > 0]
        lists[user] = _unseen(ranked + popular, seen)
    return _write(
        folder,
        split,
        lists,
        _unseen(popular, set()),
        code_version,
        name="item-kNN",
        params={"neighbours": neighbours, "similarity": "cosine on liked-by sets"},
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
