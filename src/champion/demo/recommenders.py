"""Two MovieLens recommenders of different quality, each written as a champion model folder.

1. popularity: the movies most often rated >= 4 in train, the same list for everyone;
2. item co-occurrence: item-kNN with cosine similarity over who liked what, blended with a
   recency-weighted popularity prior and falling back to it for users without train positives.

Both skip the movies a user rated in train. A folder holds ``champion.yaml``, ``ranker.py``
(a copy of ``folder_ranker.py``: the class champion instantiates) and ``ranker.npz``. The
lineage metrics are measured by loading the written folder and calling ``rank`` for every
test user of the time split, so they describe exactly what will be served.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd
import yaml
from scipy import sparse

from champion.demo import folder_ranker
from champion.demo.movielens import POSITIVE, TimeSplit

__all__ = [
    "Ranker",
    "evaluate_ranker",
    "write_item_cooccurrence_ranker",
    "write_popularity_ranker",
]

DAY = 86_400.0
K = 10
MODULE = "ranker"


class Ranker(Protocol):
    """What champion calls on a ranker: ``rank(unit, context, k)``."""

    def rank(
        self, unit: str | None, context: Mapping[str, Any], k: int
    ) -> list[tuple[int, float]]: ...


@dataclass(frozen=True)
class _Index:
    """Dense indices for the train period: item index -> movieId, user row -> userId."""

    items: npt.NDArray[np.int64]
    users: npt.NDArray[np.int64]
    seen_ptr: npt.NDArray[np.int64]
    seen: npt.NDArray[np.int32]
    positives: pd.DataFrame
    """Train ratings >= 4 with ``item`` and ``row`` columns added."""


def write_popularity_ranker(
    split: TimeSplit,
    folder: Path,
    code_version: str,
    *,
    half_life_days: float | None = None,
) -> Path:
    """Write the popularity ranker's model folder.

    Parameters
    ----------
    split
        The MovieLens time split; only ``split.train`` is used to build the model.
    folder
        The version folder to write (created if missing).
    code_version
        Recorded in the lineage, e.g. ``"champion 0.1.0"``.
    half_life_days
        If set, a positive counts ``0.5 ** (age / half_life_days)`` where age is its distance
        to the cutoff; by default every positive counts 1.

    Returns
    -------
    Path
        ``folder``.
    """
    index = _index(split)
    popularity = _popularity(split, index, half_life_days)
    arrays = _base_arrays(index, popularity)
    score = "count of ratings >= 4 in train"
    if half_life_days is not None:
        score += f", halved every {half_life_days:g} days before the cutoff"
    return _write(
        folder,
        split,
        arrays,
        "PopularityRanker",
        code_version,
        algorithm="popularity",
        params={"score": score, "half_life_days": half_life_days},
        description="Most-liked MovieLens movies of the training period, minus those seen",
    )


def write_item_cooccurrence_ranker(
    split: TimeSplit,
    folder: Path,
    code_version: str,
    *,
    neighbours: int = 50,
    prior_weight: float = 1.0,
    prior_half_life_days: float | None = 90.0,
) -> Path:
    """Write the item co-occurrence (item-kNN) ranker's model folder.

    Parameters
    ----------
    split
        The MovieLens time split; only ``split.train`` is used to build the model.
    folder
        The version folder to write (created if missing).
    code_version
        Recorded in the lineage, e.g. ``"champion 0.1.0"``.
    neighbours
        Similar items kept per item (cosine over the sets of users who rated it >= 4).
    prior_weight
        Weight of popularity (scaled to at most 1) added to the personal scores (scaled to at
        most 1). The defaults were chosen on earlier cutoffs of the same data (quantiles 0.4 to
        0.7), not on the test period: ratings drift to recent films, and a recency-aware prior
        is what lifts item-kNN clearly above plain popularity there.
    prior_half_life_days
        Recency weighting of the popularity prior and of the fallback list, as in
        ``write_popularity_ranker``; ``None`` counts every positive 1.

    Returns
    -------
    Path
        ``folder``.
    """
    index = _index(split)
    popularity = _popularity(split, index, prior_half_life_days)
    arrays = _base_arrays(index, popularity)
    liked = index.positives.sort_values(["row", "item"])
    arrays["liked_ptr"] = _pointers(liked["row"].to_numpy(), len(index.users))
    arrays["liked"] = liked["item"].to_numpy(dtype=np.int32)
    arrays["neighbours"], arrays["similarity"] = _neighbours(index, neighbours)
    arrays["prior_weight"] = np.array(prior_weight, dtype=np.float64)
    return _write(
        folder,
        split,
        arrays,
        "ItemCooccurrenceRanker",
        code_version,
        algorithm="item-cooccurrence",
        params={
            "similarity": "cosine over the sets of users who rated an item >= 4",
            "neighbours": neighbours,
            "prior_weight": prior_weight,
            "prior_half_life_days": prior_half_life_days,
        },
        description=(
            "Item co-occurrence (item-kNN) on MovieLens: movies liked by the people who liked "
            "the user's movies, blended with recent popularity"
        ),
    )


def evaluate_ranker(
    ranker: Ranker, truth: Mapping[int, AbstractSet[int]], k: int = K
) -> dict[str, float]:
    """Offline metrics of ``ranker`` on held-out positives.

    Parameters
    ----------
    ranker
        Anything with champion's ranker method ``rank(unit, context, k)``.
    truth
        Per test user id, the movies they liked after the cutoff.
    k
        List length judged.

    Returns
    -------
    dict[str, float]
        Means over users: ``hit_rate_at_{k}`` (share with at least one held-out positive in
        the top k), ``precision_at_{k}``, ``recall_at_{k}`` (over ``min(k, |truth|)``) and
        ``ndcg_at_{k}`` (binary gains, 1 / log2(position + 1) discount).
    """
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    totals = np.zeros(4)
    for user, relevant in truth.items():
        shown = [item for item, _ in ranker.rank(str(user), {}, k)]
        gains = np.array([item in relevant for item in shown], dtype=np.float64)
        found = float(gains.sum())
        ideal = float(discounts[: min(k, len(relevant))].sum())
        dcg = float(gains @ discounts[: len(gains)])
        totals += [found > 0, found / k, found / min(k, len(relevant)), dcg / ideal]
    means = totals / max(len(truth), 1)
    names = ("hit_rate", "precision", "recall", "ndcg")
    return {f"{name}_at_{k}": round(float(v), 4) for name, v in zip(names, means, strict=True)}


def _index(split: TimeSplit) -> _Index:
    train = split.train
    items = np.sort(train["movieId"].unique()).astype(np.int64)
    users = np.sort(train["userId"].unique()).astype(np.int64)
    item = np.searchsorted(items, train["movieId"].to_numpy())
    row = np.searchsorted(users, train["userId"].to_numpy())
    order = np.lexsort((item, row))
    positive = (train["rating"] >= POSITIVE).to_numpy()
    positives = train[positive].assign(item=item[positive], row=row[positive])
    return _Index(
        items=items,
        users=users,
        seen_ptr=_pointers(row[order], len(users)),
        seen=item[order].astype(np.int32),
        positives=positives,
    )


def _pointers(sorted_rows: npt.NDArray[Any], n_rows: int) -> npt.NDArray[np.int64]:
    """CSR row pointers for values grouped by ``sorted_rows``."""
    counts = np.bincount(sorted_rows, minlength=n_rows)
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


def _popularity(
    split: TimeSplit, index: _Index, half_life_days: float | None
) -> npt.NDArray[np.float64]:
    positives = index.positives
    if half_life_days is None:
        weights = np.ones(len(positives))
    else:
        age = (split.cutoff - positives["timestamp"].to_numpy()) / DAY
        weights = 0.5 ** (age / half_life_days)
    counts = np.bincount(positives["item"].to_numpy(), weights=weights, minlength=len(index.items))
    return counts.astype(np.float64)


def _base_arrays(index: _Index, popularity: npt.NDArray[np.float64]) -> dict[str, npt.NDArray[Any]]:
    return {
        "items": index.items,
        "popularity": popularity,
        # Stable: equally popular movies keep ascending movieId order, run after run.
        "order": np.argsort(-popularity, kind="stable").astype(np.int32),
        "users": index.users,
        "seen_ptr": index.seen_ptr,
        "seen": index.seen,
    }


def _neighbours(index: _Index, keep: int) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]:
    """Each item's ``keep`` most similar items (cosine on the binary user x item matrix)."""
    positives = index.positives
    liked = sparse.csr_matrix(
        (np.ones(len(positives)), (positives["row"].to_numpy(), positives["item"].to_numpy())),
        shape=(len(index.users), len(index.items)),
    )
    norms = np.sqrt(np.asarray(liked.sum(axis=0)).ravel())
    norms[norms == 0] = 1.0
    scaled = sparse.csr_matrix(liked.multiply(1.0 / norms))
    similarity = sparse.csr_matrix(scaled.T @ scaled)
    similarity.setdiag(0.0)
    similarity.eliminate_zeros()
    n_items = len(index.items)
    # Padding has similarity 0, so it adds nothing when a user's neighbour lists are summed.
    ids = np.zeros((n_items, keep), dtype=np.int32)
    values = np.zeros((n_items, keep), dtype=np.float32)
    for i in range(n_items):
        start, end = similarity.indptr[i], similarity.indptr[i + 1]
        row_values = similarity.data[start:end]
        row_ids = similarity.indices[start:end]
        if len(row_values) > keep:
            top = np.argpartition(-row_values, keep - 1)[:keep]
            row_values, row_ids = row_values[top], row_ids[top]
        ids[i, : len(row_ids)] = row_ids
        values[i, : len(row_values)] = row_values
    return ids, values


def _write(
    folder: Path,
    split: TimeSplit,
    arrays: dict[str, npt.NDArray[Any]],
    class_name: str,
    code_version: str,
    *,
    algorithm: str,
    params: dict[str, Any],
    description: str,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / folder_ranker.DATA_FILE, **arrays)
    shutil.copyfile(Path(folder_ranker.__file__), folder / f"{MODULE}.py")
    # Evaluate the folder as served: the copied module's class (same source) loading its data.
    ranker: folder_ranker.PopularityRanker = getattr(folder_ranker, class_name)()
    ranker.load(folder)
    metrics = evaluate_ranker(ranker, split.truth)
    cutoff = datetime.fromtimestamp(split.cutoff, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    manifest = {
        "kind": "ranker",
        "flavor": "python",
        "class": f"{MODULE}:{class_name}",
        "signature": {"inputs": []},
        "lineage": {
            "trained_by": "champion-demo",
            "data": {
                "location": "data/movielens-latest-small/ratings.csv",
                "fingerprint": f"sha256:{split.ratings_sha256}",
                "rows": len(split.train),
            },
            "code_version": code_version,
            "params": params
            | {
                "split": f"global time cutoff at {cutoff}: train before, test after",
                "positive": f"rating >= {POSITIVE}",
                "test_users": len(split.truth),
                "excludes": "movies the user rated in train",
            },
            "metrics": metrics,
            "description": description,
            "tags": {"dataset": "movielens-latest-small", "algorithm": algorithm},
        },
    }
    (folder / "champion.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    return folder
