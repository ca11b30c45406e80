"""A seeded synthetic table: 20 numeric columns of varied shapes and 5 categorical ones."""

from __future__ import annotations

import numpy as np
import pandas as pd

SHIFTED = [
    "normal_0",
    "lognormal_1",
    "uniform_2",
    "counts_3",
    "bimodal_0",
    "category_5",
    "category_12",
    "category_40",
]
"""The columns ``synthetic_table(shifted=True)`` changes, each mildly."""

_LEVELS = (2, 3, 5, 12, 40)


def _bimodal(rng: np.random.Generator, n: int, weight: float, gap: float) -> np.ndarray:
    left = rng.random(n) < weight
    return np.where(left, rng.normal(-gap, 1.0, n), rng.normal(gap, 1.0, n))


def _category_shares(levels: int, shifted: bool) -> np.ndarray:
    shares = 1.0 / np.arange(1, levels + 1)  # Zipf-like: a few common levels, a long tail
    shares /= shares.sum()
    if shifted:
        # Move 20 points of mass from the most common level to the second half of the levels.
        moved = 0.2
        shares[0] -= moved
        shares[levels // 2 :] += moved / (levels - levels // 2)
    return shares


def synthetic_table(n: int, seed: int, shifted: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {}
    for i in range(4):
        move = shifted and f"normal_{i}" in SHIFTED
        data[f"normal_{i}"] = rng.normal(10.0 * i + (0.2 * (i + 1) if move else 0.0), i + 1.0, n)
        scale = 1.2 if shifted and f"lognormal_{i}" in SHIFTED else 1.0
        data[f"lognormal_{i}"] = scale * rng.lognormal(0.0, 0.4 + 0.2 * i, n)
        low = 0.06 if shifted and f"uniform_{i}" in SHIFTED else 0.0
        data[f"uniform_{i}"] = rng.uniform(low + i, low + i + 1.0, n)
        rate = (2.0 + 2 * i) * (1.08 if shifted and f"counts_{i}" in SHIFTED else 1.0)
        data[f"counts_{i}"] = rng.poisson(rate, n)
        weight = 0.4 if shifted and f"bimodal_{i}" in SHIFTED else 0.5
        data[f"bimodal_{i}"] = _bimodal(rng, n, weight, 1.5 + 0.5 * i)
    for levels in _LEVELS:
        name = f"category_{levels}"
        shares = _category_shares(levels, shifted and name in SHIFTED)
        data[name] = rng.choice([f"level-{k}" for k in range(levels)], size=n, p=shares)
    return pd.DataFrame(data)
