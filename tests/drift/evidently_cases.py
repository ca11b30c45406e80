"""Seeded sample pairs on which champion's Evidently mode is checked against Evidently 0.7.

Pure NumPy and pandas, so ``benchmarks/evidently_golden.py`` can build the very same
samples in Evidently's own environment and record Evidently's results in
``evidently_golden.json``.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

__all__ = ["CASES", "case", "fingerprint"]

CASES = (
    ("normal_shift", "numeric"),
    ("lognormal_scale", "numeric"),
    ("bimodal_weights", "numeric"),
    ("counts_few_values", "numeric"),
    ("categories", "categorical"),
    ("categories_new_and_gone", "categorical"),
    ("tiny_samples", "numeric"),
    ("heavy_tail_empty_bins", "numeric"),
)


def case(name: str) -> tuple[pd.Series, pd.Series]:
    """The reference and current samples of case ``name``."""
    rng = np.random.default_rng(sum(map(ord, name)))
    if name == "normal_shift":
        return pd.Series(rng.normal(0, 1, 3000)), pd.Series(rng.normal(0.15, 1.1, 2000))
    if name == "lognormal_scale":
        return pd.Series(rng.lognormal(0, 0.6, 5000)), pd.Series(1.1 * rng.lognormal(0, 0.6, 4000))
    if name == "bimodal_weights":

        def bimodal(n: int, w: float) -> pd.Series:
            left = rng.random(n) < w
            return pd.Series(np.where(left, rng.normal(-2, 1, n), rng.normal(2, 1, n)))

        return bimodal(2500, 0.5), bimodal(2500, 0.4)
    if name == "counts_few_values":
        return pd.Series(rng.poisson(3.0, 4000).astype(float)), pd.Series(
            rng.poisson(3.4, 3000).astype(float)
        )
    if name == "categories":
        levels = [f"level-{i}" for i in range(12)]
        p = 1 / np.arange(1, 13)
        q = p[::-1].copy()
        return pd.Series(rng.choice(levels, 4000, p=p / p.sum())), pd.Series(
            rng.choice(levels, 3000, p=(p + q) / (p + q).sum())
        )
    if name == "categories_new_and_gone":
        return pd.Series(rng.choice(list("abcde"), 2000)), pd.Series(
            rng.choice(list("bcdefg"), 1500)
        )
    if name == "tiny_samples":
        return pd.Series(rng.normal(0, 1, 40)), pd.Series(rng.normal(0.5, 1, 30))
    if name == "heavy_tail_empty_bins":
        return pd.Series(rng.standard_t(1.5, 3000)), pd.Series(rng.standard_t(1.5, 3000) + 0.3)
    raise KeyError(name)


def fingerprint(reference: pd.Series, current: pd.Series) -> str:
    """A checksum of both samples: the golden file is only valid for the same numbers."""
    digest = hashlib.sha256()
    for sample in (reference, current):
        digest.update(sample.astype(str).str.cat(sep=",").encode())
    return digest.hexdigest()[:16]
