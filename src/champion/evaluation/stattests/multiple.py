"""Adjusting p-values when one experiment tests several metrics or arms."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from champion.errors import InvalidInput

__all__ = ["benjamini_hochberg", "holm"]


def _p_values(owner: str, value: Any) -> npt.NDArray[np.float64]:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        array = np.array([np.nan])
    if array.ndim != 1 or not np.all((array >= 0) & (array <= 1)):
        raise InvalidInput(
            f"The 'p_values' argument of {owner} must be a 1-D sequence of floats in the "
            f"range [0, 1]. Got {value!r} instead."
        )
    return array


def holm(p_values: Any) -> npt.NDArray[np.float64]:
    """Holm-Bonferroni adjusted p-values; they control the family-wise error rate.

    The i-th smallest p-value (from 1) is multiplied by ``m - i + 1``, then the running
    maximum keeps the order, and values are capped at 1. Rejecting where the adjusted p is
    under ``alpha`` is Holm's step-down procedure.

    References
    ----------
    Holm, S. (1979). A simple sequentially rejective multiple test procedure. Scandinavian
    Journal of Statistics 6, 65-70. Agrees with ``statsmodels`` ``multipletests(method="holm")``.

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03, 0.005]).round(3).tolist()
    [0.03, 0.06, 0.06, 0.02]
    """
    p = _p_values("holm", p_values)
    m = p.size
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    scaled = np.maximum.accumulate(p[order] * (m - np.arange(m)))
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(scaled, 1.0)
    return adjusted


def benjamini_hochberg(p_values: Any) -> npt.NDArray[np.float64]:
    """Benjamini-Hochberg adjusted p-values; they control the false discovery rate.

    A thin, validated wrapper over ``scipy.stats.false_discovery_control(method="bh")``.

    References
    ----------
    Benjamini, Y. and Hochberg, Y. (1995). Controlling the false discovery rate. JRSS B 57,
    289-300.

    Examples
    --------
    >>> benjamini_hochberg([0.01, 0.04, 0.03, 0.005]).round(3).tolist()
    [0.02, 0.04, 0.04, 0.02]
    """
    from scipy import stats

    p = _p_values("benjamini_hochberg", p_values)
    if p.size == 0:
        return p
    return np.asarray(stats.false_discovery_control(p, method="bh"), dtype=np.float64)
