"""The rankers that live inside a model folder, copied there as ``ranker.py``.

champion's python flavor imports this file from the version folder, so it must stand alone:
the standard library and numpy only, never ``champion``. All data comes from ``ranker.npz``
beside it, read once in ``load``; ``rank`` only indexes arrays, to stay well under 2 ms.

Arrays in ``ranker.npz`` (item indices point into ``items``):

- ``items``: movieId per item index;
- ``popularity``: score per item; ``order``: every item index, most popular first;
- ``users``: userId per user row; ``seen_ptr``/``seen``: CSR lists of the items each user
  rated in train (never recommended back);
- item co-occurrence only: ``liked_ptr``/``liked`` (CSR of each user's train positives),
  ``neighbours``/``similarity`` (each item's nearest items and their cosine similarity, padded
  with similarity 0), ``prior_weight`` (weight of popularity added to the personal scores).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["DATA_FILE", "ItemCooccurrenceRanker", "PopularityRanker"]

DATA_FILE = "ranker.npz"
# With no popularity prior, items the user's neighbours never reach all score 0: a faint
# popularity term still orders them instead of leaving it to argpartition's whims.
TIE_BREAK = 1e-6

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


class PopularityRanker:
    """The most-liked movies of the training period, minus those the user already rated."""

    def __init__(self) -> None:
        self._item_ids: list[int] = []
        self._popularity: Floats = np.zeros(0)
        self._order: Ints = np.zeros(0, dtype=np.int64)
        self._user_row: dict[str, int] = {}
        self._seen_ptr: Ints = np.zeros(1, dtype=np.int64)
        self._seen: Ints = np.zeros(0, dtype=np.int64)

    def load(self, path: Path) -> None:
        """Read ``ranker.npz`` from the version folder ``path``."""
        with np.load(path / DATA_FILE, allow_pickle=False) as data:
            self._read({name: data[name] for name in data.files})

    def _read(self, arrays: dict[str, npt.NDArray[Any]]) -> None:
        self._item_ids = [int(item) for item in arrays["items"]]
        self._popularity = arrays["popularity"].astype(np.float64)
        self._order = arrays["order"].astype(np.int64)
        # champion passes the unit as a string; the dataset's user ids are integers.
        self._user_row = {str(int(user)): row for row, user in enumerate(arrays["users"])}
        self._seen_ptr = arrays["seen_ptr"].astype(np.int64)
        self._seen = arrays["seen"].astype(np.int64)

    def rank(self, unit: str | None, context: Mapping[str, Any], k: int) -> list[tuple[int, float]]:
        """Return up to ``k`` (movieId, score) pairs, best first, none the user has seen."""
        row = None if unit is None else self._user_row.get(unit)
        return self._popular(self._rows(self._seen_ptr, self._seen, row), k)

    @staticmethod
    def _rows(ptr: Ints, values: Ints, row: int | None) -> Ints:
        if row is None:
            return values[:0]
        return values[ptr[row] : ptr[row + 1]]

    def _popular(self, seen: Ints, k: int) -> list[tuple[int, float]]:
        if k <= 0:
            return []
        # At most len(seen) of the first k + len(seen) items are seen: enough survive.
        head = self._order[: k + len(seen)]
        if len(seen):
            head = head[~np.isin(head, seen)]
        return [(self._item_ids[i], float(self._popularity[i])) for i in head[:k].tolist()]


class ItemCooccurrenceRanker(PopularityRanker):
    """Movies liked by the same people as the user's own liked movies (item-kNN, cosine).

    A user's score for an item is the sum of its similarities to the user's train positives,
    scaled to at most 1, plus ``prior_weight`` times popularity scaled to at most 1. Users
    without train positives get the popularity list.
    """

    def __init__(self) -> None:
        super().__init__()
        self._liked_ptr: Ints = np.zeros(1, dtype=np.int64)
        self._liked: Ints = np.zeros(0, dtype=np.int64)
        self._neighbours: Ints = np.zeros((0, 0), dtype=np.int64)
        self._similarity: Floats = np.zeros((0, 0))
        self._prior: Floats = np.zeros(0)

    def _read(self, arrays: dict[str, npt.NDArray[Any]]) -> None:
        super()._read(arrays)
        self._liked_ptr = arrays["liked_ptr"].astype(np.int64)
        self._liked = arrays["liked"].astype(np.int64)
        self._neighbours = arrays["neighbours"].astype(np.int64)
        self._similarity = arrays["similarity"].astype(np.float64)
        top = float(self._popularity.max()) if len(self._popularity) else 1.0
        weight = max(float(arrays["prior_weight"]), TIE_BREAK)
        self._prior = weight * self._popularity / (top if top > 0 else 1.0)

    def rank(self, unit: str | None, context: Mapping[str, Any], k: int) -> list[tuple[int, float]]:
        """Return up to ``k`` (movieId, score) pairs, best first, none the user has seen."""
        row = None if unit is None else self._user_row.get(unit)
        seen = self._rows(self._seen_ptr, self._seen, row)
        liked = self._rows(self._liked_ptr, self._liked, row)
        if k <= 0 or len(liked) == 0:
            return self._popular(seen, k)
        scores = np.bincount(
            self._neighbours[liked].ravel(),
            weights=self._similarity[liked].ravel(),
            minlength=len(self._item_ids),
        )
        top = scores.max()
        if top > 0:
            scores /= top
        scores += self._prior
        scores[seen] = -np.inf
        k = min(k, len(scores))
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(self._item_ids[i], float(scores[i])) for i in best.tolist() if scores[i] > -np.inf]
