"""The second act's re-rankers: logistic regression over candidates, trained on the training
period alone.

Each user's training ratings are split in time once more: item-kNN fitted on the earlier
``HISTORY_SHARE`` retrieves candidates as the retrieval stage would, and a candidate the user
went on to like in the rest of the training period is a positive. Two versions learn from the
same rows (``demo.movie_reranker`` computes the features, there and when serving):

1. rating: a movie's mean rating alone, the best-rated candidates first;
2. taste: every feature, the user's own taste (retrieval score, genres, years) among them.

Their offline hit rate and precision at 10 re-rank the retrieval stage's candidates for the
held-out users (the same users and truth as the first act's recommenders).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from champion.artifacts import sha256_file
from champion.demo import movie_reranker
from champion.demo.movie_reranker import FEATURES, TABLES, candidate_features
from champion.demo.movielens import POSITIVE, MovieLensSplit
from champion.demo.rankers import fit_item_knn, hit_rate_at_k, popular_items, retrieved

__all__ = ["HISTORY_SHARE", "RERANKERS", "write_rerankers"]

HISTORY_SHARE = 0.75
RERANKERS: dict[str, tuple[str, ...]] = {
    "rating": ("mean_rating",),
    "taste": FEATURES,
}
"""Each re-ranker's name and the features it learns from, in registration order."""
_SHRINK = 10  # a movie's mean rating counts as many ratings of 3.5 beside its own
_NEGATIVES = 0.25  # the share of negative candidates kept for training (seeded)


@dataclass(frozen=True)
class _Movies:
    ids: np.ndarray
    genres: np.ndarray
    year: np.ndarray


def _movies(split: MovieLensSplit) -> _Movies:
    movies = pd.read_csv(split.ratings_path.with_name("movies.csv"), dtype={"movieId": str})
    names = (
        movies["genres"].str.get_dummies("|").drop(columns="(no genres listed)", errors="ignore")
    )
    genres = names.to_numpy(dtype=np.float64)
    norms = np.linalg.norm(genres, axis=1, keepdims=True)
    year = movies["title"].str.extract(r"\((\d{4})\)\s*$")[0].astype(float)
    return _Movies(
        movies["movieId"].to_numpy(dtype=str),
        genres / np.where(norms == 0, 1.0, norms),
        year.to_numpy(),
    )


def _feature_tables(ratings: pd.DataFrame, movies: _Movies) -> dict[str, Any]:
    """The arrays ``movie_reranker.candidate_features`` reads, from ``ratings`` alone."""
    liked = ratings[ratings["rating"] >= POSITIVE]
    by_item = ratings.groupby("movieId")["rating"].agg(["sum", "count"])
    by_item = by_item.reindex(movies.ids, fill_value=0)
    counts = liked["movieId"].value_counts().reindex(movies.ids, fill_value=0)
    item_row = {m: n for n, m in enumerate(movies.ids)}
    users = np.array(sorted(ratings["userId"].unique()), dtype=str)
    known = liked[liked["movieId"].isin(item_row)]
    who = sparse.csr_matrix(
        (
            np.ones(len(known)),
            (np.searchsorted(users, known["userId"].to_numpy(dtype=str)),
             known["movieId"].map(item_row).to_numpy()),
        ),
        shape=(len(users), len(movies.ids)),
    )  # fmt: skip
    taste = np.asarray(who @ movies.genres)
    sizes = np.linalg.norm(taste, axis=1, keepdims=True)
    dated = np.isfinite(movies.year)
    years = who[:, dated] @ movies.year[dated]
    counted = np.asarray(who[:, dated].sum(axis=1)).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        user_year = np.where(counted > 0, years / counted, np.nan)
    tables: dict[str, Any] = {
        "items": movies.ids,
        "popularity": counts.to_numpy(dtype=np.float64),
        "mean_rating": ((by_item["sum"] + 3.5 * _SHRINK) / (by_item["count"] + _SHRINK)).to_numpy(),
        "genres": movies.genres,
        "year": movies.year,
        "users": users,
        "taste": taste / np.where(sizes == 0, 1.0, sizes),
        "user_year": user_year,
    }
    tables["item_index"] = item_row
    tables["user_index"] = {u: n for n, u in enumerate(users)}
    return tables


def _training_rows(split: MovieLensSplit, movies: _Movies) -> tuple[np.ndarray, np.ndarray]:
    train = split.train
    order = train.groupby("userId").cumcount()
    size = train.groupby("userId")["movieId"].transform("size")
    early = order < (size * HISTORY_SHARE).round()
    history, later = train[early], train[~early]
    knn = fit_item_knn(history)
    tables = _feature_tables(history, movies)
    popular = popular_items(history)
    liked_later = later[later["rating"] >= POSITIVE].groupby("userId")["movieId"].agg(set)
    rng = np.random.default_rng(0)
    rows, labels = [], []
    for user, group in history.groupby("userId"):
        listed = retrieved(knn, popular, str(user), set(group["movieId"]))
        items, scores = [str(i) for i, _ in listed], [float(s) for _, s in listed]
        label = np.isin(items, list(liked_later.get(user, set())))
        keep = label | (rng.random(len(items)) < _NEGATIVES)
        rows.append(candidate_features(tables, str(user), items, scores)[keep])
        labels.append(label[keep])
    return np.vstack(rows), np.concatenate(labels).astype(int)


def write_rerankers(
    split: MovieLensSplit, retrieval: dict[str, list[list[Any]]], folder: Path, code_version: str
) -> dict[str, Path]:
    """Train every re-ranker of ``RERANKERS``; their folders by name. ``retrieval``: the
    retrieval stage's lists (``rankers.retrieval_lists``), re-ranked offline for the
    held-out users."""
    movies = _movies(split)
    features, labels = _training_rows(split, movies)
    serving = _feature_tables(split.train, movies)
    candidates = {
        user: ([str(item) for item, _ in retrieval[user]], [float(s) for _, s in retrieval[user]])
        for user in split.truth
    }
    written = {}
    for name, used in RERANKERS.items():
        columns = np.array([FEATURES.index(f) for f in used])
        scaler = StandardScaler().fit(features[:, columns])
        model = LogisticRegression(max_iter=1000).fit(
            scaler.transform(features[:, columns]), labels
        )
        # The scaler folded into the weights: the served model is one dot product.
        weights = model.coef_[0] / scaler.scale_
        bias = float(model.intercept_[0] - weights @ scaler.mean_)
        lists = {}
        for user, (items, scores) in candidates.items():
            score = candidate_features(serving, user, items, scores)[:, columns] @ weights
            lists[user] = [[items[i], 0.0] for i in np.argsort(-score, kind="stable")[:10]]
        hit_rate, precision = hit_rate_at_k(lists, [], split.truth)
        written[name] = _write(
            folder / f"rerank-{name}",
            serving,
            columns,
            weights,
            bias,
            split,
            code_version,
            name=name,
            metrics={"hit_rate_at_10": round(hit_rate, 4), "precision_at_10": round(precision, 4)},
            rows=len(labels),
        )
    return written


def _write(
    folder: Path,
    tables: dict[str, Any],
    columns: np.ndarray,
    weights: np.ndarray,
    bias: float,
    split: MovieLensSplit,
    code_version: str,
    *,
    name: str,
    metrics: dict[str, float],
    rows: int,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(movie_reranker.__file__, folder / "movie_reranker.py")
    arrays = {table: tables[table] for table in TABLES}
    np.savez(
        folder / "reranker.npz", columns=columns, weights=weights, bias=np.float64(bias), **arrays
    )
    used = [FEATURES[c] for c in columns]
    manifest = {
        "kind": "ranker",
        "flavor": "python",
        "class": "movie_reranker:MovieReranker",
        "lineage": {
            "trained_by": "champion-demo",
            "data": {
                "location": "data/movielens-latest-small/ratings.csv",
                "fingerprint": "sha256:" + sha256_file(split.ratings_path),
                "rows": rows,
            },
            "code_version": code_version,
            "params": {
                "estimator": "LogisticRegression",
                "features": used,
                "weights": {f: round(float(w), 4) for f, w in zip(used, weights, strict=True)},
                "history_share": HISTORY_SHARE,
            },
            "metrics": metrics,
            "description": f"re-ranker of retrieved movies by {name} ({', '.join(used)})",
            "tags": {"dataset": "movielens-latest-small", "algorithm": f"rerank-{name}"},
        },
    }
    (folder / "champion.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    return folder
