"""A learned re-ranker of candidate movies, as a version folder serves it.

This file is copied into each re-ranker's version folder (the python flavor imports it from
there), so it imports nothing of champion; the demo's training imports it too, so a feature
is computed by the same code when the model learns and when it serves.

The re-ranker scores each candidate a retrieval stage handed on (its items and scores) by a
linear model over a few features of the user and the movie, and returns the best ``k``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["FEATURES", "TABLES", "MovieReranker", "candidate_features"]

FEATURES = (
    "retrieval_score",
    "retrieval_rank",
    "popularity",
    "mean_rating",
    "genre_affinity",
    "year_gap",
)
"""Per candidate: log(1 + its retrieval score), log2(2 + its place in the retrieval list),
log(1 + how many liked it), its mean rating shrunk towards 3.5, the cosine of its genres with
the genres the user liked, and how many decades it lies from the years of what they liked."""
TABLES = ("items", "popularity", "mean_rating", "genres", "year", "users", "taste", "user_year")
"""The arrays a re-ranker's ``reranker.npz`` holds besides its weights."""


def candidate_features(
    tables: dict[str, Any], user: str | None, candidates: list[str], scores: list[float]
) -> np.ndarray:
    """The feature matrix (one row per candidate, columns in ``FEATURES`` order).

    ``tables`` maps each name of ``TABLES`` to its array, plus ``item_index`` and
    ``user_index`` (id -> row). A movie or user the tables do not know gets neutral values."""
    index = tables["item_index"]
    rows = np.array([index.get(item, -1) for item in candidates], dtype=np.int64)
    known = rows >= 0
    at = np.where(known, rows, 0)
    popularity = np.where(known, tables["popularity"][at], 0.0)
    mean_rating = np.where(known, tables["mean_rating"][at], 3.5)
    year = np.where(known, tables["year"][at], np.nan)
    person = tables["user_index"].get(user, -1) if user is not None else -1
    if person >= 0:
        affinity = np.where(known, tables["genres"][at] @ tables["taste"][person], 0.0)
        gap = np.abs(year - tables["user_year"][person]) / 10.0
    else:
        affinity = np.zeros(len(candidates))
        gap = np.full(len(candidates), np.nan)
    return np.column_stack(
        [
            np.log1p(np.maximum(np.asarray(scores, dtype=np.float64), 0.0)),
            np.log2(2.0 + np.arange(len(candidates))),
            np.log1p(popularity),
            mean_rating,
            affinity,
            np.nan_to_num(gap, nan=1.0),  # an unknown year: a decade away
        ]
    )


class MovieReranker:
    """Ranks the candidates of ``context['candidates']`` (with ``context['scores']``)."""

    def load(self, path: Path) -> None:
        with np.load(path / "reranker.npz", allow_pickle=False) as data:
            self.tables: dict[str, Any] = {name: data[name] for name in TABLES}
            self.columns = data["columns"]
            self.weights = data["weights"]
            self.bias = float(data["bias"])
        self.tables["item_index"] = {str(i): n for n, i in enumerate(self.tables["items"])}
        self.tables["user_index"] = {str(u): n for n, u in enumerate(self.tables["users"])}

    def rank(self, unit: str | None, context: dict[str, Any], k: int) -> list[tuple[str, float]]:
        candidates = [str(item) for item in context["candidates"]]
        scores = context.get("scores") or [0.0] * len(candidates)
        matrix = candidate_features(self.tables, unit, candidates, scores)
        score = matrix[:, self.columns] @ self.weights + self.bias
        best = np.argsort(-score, kind="stable")[:k]
        return [(candidates[i], round(float(score[i]), 6)) for i in best]
