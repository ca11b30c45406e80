"""Evidently-compatible drift: its definitions and default tests, for users who migrate.

Written from Evidently's documented definitions (Evidently itself is not a dependency).
Unlike the rest of ``champion.drift`` this mode reads both raw samples, as Evidently does:
its PSI and Jensen-Shannon bin the *combined* data.

* Binning (PSI, Jensen-Shannon): a numeric column with more than 20 distinct reference
  values uses ``numpy.histogram_bin_edges(reference + current, bins="sturges")``; other
  columns use every value seen in either sample. For PSI a share of zero becomes 1e-4, or a
  millionth of the smallest non-zero share when that is at most 1e-4; Jensen-Shannon takes
  the shares as they are (it is finite with empty bins).
* ``psi``: ``sum((r - c) * ln(r / c))``, drift when ``>= 0.1``.
* ``jensenshannon``: ``scipy.spatial.distance.jensenshannon(r, c)``, drift when ``>= 0.1``.
* ``wasserstein``: ``wasserstein_distance(r, c) / max(std(r), 0.001)``, drift when ``>= 0.1``.
* ``ks``: ``ks_2samp(r, c)`` p-value, drift when ``< 0.05``.
* ``chi_square``: ``scipy.stats.chisquare`` of the current counts against the reference
  counts scaled to the current size (a goodness-of-fit test), drift when ``p < 0.05``.
* ``z``: two-proportion z-test on a binary column, drift when ``p < 0.05``.
* Default test (by reference size and distinct values ``u`` in both samples): up to 1,000
  reference rows, numeric with ``u > 5`` → ks, ``2 < u <= 5`` → chi_square, ``u <= 2`` → z;
  categorical ``u > 2`` → chi_square else z. Above 1,000 rows, numeric ``u > 5`` →
  wasserstein, else jensenshannon; categorical → jensenshannon.
* Dataset drift: the share of drifted columns is at least ``drift_share`` (0.5).

No multiple-testing correction is applied: that is Evidently's behaviour.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial import distance

from champion.drift.detectors import DriftResult
from champion.drift.profile import ColumnKind, FloatArray
from champion.errors import InvalidInput

__all__ = [
    "EVIDENTLY_TESTS",
    "EvidentlyDrift",
    "binned_shares",
    "compare_evidently",
    "default_test",
    "run_test",
]


def binned_shares(
    reference: pd.Series, current: pd.Series, kind: ColumnKind, fill_zeroes: bool = True
) -> tuple[FloatArray, FloatArray]:
    """Evidently's shares for PSI (zeroes filled) and Jensen-Shannon (not filled)."""
    if kind == "numeric" and reference.nunique() > 20:
        edges = np.histogram_bin_edges(
            pd.concat([reference, current]).to_numpy(dtype=np.float64), bins="sturges"
        )
        ref = np.histogram(reference, edges)[0] / len(reference)
        cur = np.histogram(current, edges)[0] / len(current)
    else:
        keys = sorted(set(reference) | set(current), key=str)
        ref_counts, cur_counts = reference.value_counts(), current.value_counts()
        ref = np.array([ref_counts.get(k, 0) for k in keys]) / len(reference)
        cur = np.array([cur_counts.get(k, 0) for k in keys]) / len(current)
    ref, cur = ref.astype(np.float64), cur.astype(np.float64)
    if not fill_zeroes:
        return ref, cur
    return _fill_zeroes(ref), _fill_zeroes(cur)


def _fill_zeroes(shares: FloatArray) -> FloatArray:
    smallest = shares[shares != 0].min()
    floor = smallest / 10**6 if smallest <= 1e-4 else 1e-4
    return np.where(shares == 0, floor, shares)


def _psi(r: pd.Series, c: pd.Series, kind: ColumnKind) -> float:
    ref, cur = binned_shares(r, c, kind)
    return float(np.sum((ref - cur) * np.log(ref / cur)))


def _jensenshannon(r: pd.Series, c: pd.Series, kind: ColumnKind) -> float:
    ref, cur = binned_shares(r, c, kind, fill_zeroes=False)
    return float(distance.jensenshannon(ref, cur))


def _wasserstein(r: pd.Series, c: pd.Series, kind: ColumnKind) -> float:
    return float(stats.wasserstein_distance(r, c)) / max(float(np.std(r)), 0.001)


def _ks(r: pd.Series, c: pd.Series, kind: ColumnKind) -> float:
    return float(stats.ks_2samp(r, c).pvalue)


def _chi_square(r: pd.Series, c: pd.Series, kind: ColumnKind) -> float:
    keys = sorted(set(r) | set(c), key=str)
    ref_counts, cur_counts = r.value_counts(), c.value_counts()
    scale = len(c) / len(r)
    expected = [ref_counts.get(k, 0) * scale for k in keys]
    observed = [cur_counts.get(k, 0) for k in keys]
    return float(stats.chisquare(observed, expected).pvalue)


def _z(r: pd.Series, c: pd.Series, kind: ColumnKind) -> float:
    keys = sorted(set(r) | set(c), key=str)
    if len(keys) == 1:
        return 1.0
    p1, p2 = float((r == keys[0]).mean()), float((c == keys[0]).mean())
    pooled = (p1 * len(r) + p2 * len(c)) / (len(r) + len(c))
    z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1 / len(r) + 1 / len(c)))
    return float(2 * (1 - stats.norm.cdf(abs(z))))


_Stat = Callable[[pd.Series, pd.Series, ColumnKind], float]
EVIDENTLY_TESTS: Mapping[str, tuple[_Stat, float, bool]] = {
    "chi_square": (_chi_square, 0.05, True),
    "jensenshannon": (_jensenshannon, 0.1, False),
    "ks": (_ks, 0.05, True),
    "psi": (_psi, 0.1, False),
    "wasserstein": (_wasserstein, 0.1, False),
    "z": (_z, 0.05, True),
}
"""name → (function, default threshold, whether the score is a p-value)."""


def default_test(reference: pd.Series, current: pd.Series, kind: ColumnKind) -> str:
    """Evidently's default test for one column (missing values already dropped).

    >>> r = pd.Series(np.arange(2000.0))
    >>> default_test(r, r, "numeric"), default_test(r[:500], r, "numeric")
    ('wasserstein', 'ks')
    >>> default_test(pd.Series(list("ab")), pd.Series(list("ba")), "categorical")
    'z'
    """
    distinct = pd.concat([reference, current]).nunique()
    if len(reference) <= 1000:
        if kind == "numeric" and distinct > 5:
            return "ks"
        return "chi_square" if distinct > 2 else "z"
    if kind == "numeric" and distinct > 5:
        return "wasserstein"
    return "jensenshannon"


def run_test(
    name: str,
    reference: pd.Series,
    current: pd.Series,
    kind: ColumnKind,
    threshold: float | None = None,
) -> DriftResult:
    """Run one Evidently test by name; the score is a p-value or a distance."""
    try:
        function, default, is_p_value = EVIDENTLY_TESTS[name]
    except KeyError:
        known = ", ".join(sorted(EVIDENTLY_TESTS))
        raise InvalidInput(f"Unknown Evidently test {name!r}. Known tests: {known}.") from None
    limit = default if threshold is None else threshold
    score = function(reference, current, kind)
    if is_p_value:
        return DriftResult(score, score, limit, score < limit, name)
    return DriftResult(score, None, limit, score >= limit, name)


@dataclass(frozen=True)
class EvidentlyDrift:
    """Per-column results (in column order), their share and the dataset verdict."""

    columns: Mapping[str, DriftResult]
    share_drifted: float
    dataset_drift: bool


def compare_evidently(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    kinds: Mapping[str, ColumnKind] | None = None,
    tests: Mapping[str, str] | None = None,
    drift_share: float = 0.5,
) -> EvidentlyDrift:
    """Evidently's data-drift preset on two DataFrames.

    ``kinds`` defaults to numeric for numeric dtypes, categorical otherwise (Evidently's
    column mapping); missing values are dropped before each test.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ref = pd.DataFrame({"x": rng.normal(size=3000), "c": rng.choice(list("ab"), 3000)})
    >>> cur = pd.DataFrame({"x": rng.normal(0.5, size=3000), "c": rng.choice(list("ab"), 3000)})
    >>> result = compare_evidently(ref, cur)
    >>> {k: v.method for k, v in result.columns.items()}, result.dataset_drift
    ({'x': 'wasserstein', 'c': 'jensenshannon'}, True)
    """
    kinds = dict(kinds or {})
    tests = dict(tests or {})
    columns: dict[str, DriftResult] = {}
    for name in reference.columns:
        kind: ColumnKind = kinds.get(
            str(name),
            "numeric" if pd.api.types.is_numeric_dtype(reference[name].dtype) else "categorical",
        )
        r, c = reference[name].dropna(), current[name].dropna()
        test = tests.get(str(name)) or default_test(r, c, kind)
        columns[str(name)] = run_test(test, r, c, kind)
    share = sum(r.drifted for r in columns.values()) / len(columns) if columns else 0.0
    return EvidentlyDrift(columns, share, share >= drift_share)
