"""What a ranker showed, as statistics: item drift, exposure inequality, popularity.

Every input is a table of exposures per unit (``unit``, ``item``, ``impressions``): a unit's
impressions are correlated (a user asks again and sees the same list), so the item-drift
test treats the unit as the sampling cluster, as every other estimate in champion does.

Item drift is Pearson's chi-square test of homogeneity on item shares (the most shown items,
each expected at least ``MIN_EXPECTED`` times in both windows; the long tail summed as
``(other)``), with the second-order Rao-Scott correction: divided by its mean design effect
times ``1 + a²`` (``a`` the coefficient of variation of the generalised design effects) and
referred to chi-square on ``(k - 1) / (1 + a²)`` degrees of freedom.
Without it, a user who refreshes ten times counts as ten independent draws and the test
fires on nothing (see ``tests/drift/test_exposure.py``'s Monte Carlo).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from champion.errors import InvalidInput

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ITEM_DRIFT_METHOD",
    "MAX_ITEMS",
    "MIN_EXPECTED",
    "OTHER",
    "ItemDrift",
    "gini",
    "item_drift",
    "popularity_ranks",
    "rarefied_coverage",
]

ITEM_DRIFT_METHOD = "chi2_rao_scott"
MAX_ITEMS = 30
"""Items tested on their own at most; the rest are summed as ``(other)``."""
MIN_EXPECTED = 5.0
"""The least count an item is expected to have in each window to be tested on its own."""
OTHER = "(other)"
EXPOSURE_COLUMNS = ("unit", "item", "impressions")


@dataclass(frozen=True)
class ItemDrift:
    """Item shares in two windows on common buckets, and the test of their difference."""

    buckets: tuple[str, ...]
    reference: tuple[float, ...]
    current: tuple[float, ...]
    statistic: float | None
    """Pearson's chi-square divided by ``design_effect``."""
    p_value: float | None
    dof: int
    design_effect: float | None
    js_distance: float | None
    """Jensen-Shannon distance (base 2, in [0, 1]) of the bucketed shares: the size."""
    alpha: float
    method: str = ITEM_DRIFT_METHOD
    effective_dof: float | None = None
    """The degrees of freedom the statistic is referred to (second-order correction)."""

    @property
    def drifted(self) -> bool:
        return self.p_value is not None and self.p_value < self.alpha


def _check(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in EXPOSURE_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidInput(
            f"The {name!r} exposures must have the columns {list(EXPOSURE_COLUMNS)!r}; "
            f"{missing!r} are missing."
        )
    return frame[list(EXPOSURE_COLUMNS)]


def _buckets(pooled: pd.Series, rows: tuple[float, float], max_items: int) -> list[str]:
    shares = pooled / pooled.sum()
    least = min(rows)
    kept = [str(k) for k, share in shares.items() if share * least >= MIN_EXPECTED]
    return kept[:max_items]


def _cluster_covariance(
    frame: pd.DataFrame, bucket_of: pd.Series, shares: npt.NDArray[np.float64], names: list[str]
) -> npt.NDArray[np.float64]:
    """Linearised covariance of the buckets' shares over units (ratios ``Y_b / M``)."""
    per_unit = frame.assign(bucket=bucket_of).groupby(["unit", "bucket"])["impressions"].sum()
    totals = per_unit.groupby(level="unit").sum()
    units, shown = len(totals), float(totals.sum())
    if units < 2:
        return np.full((len(names), len(names)), np.nan)
    y = per_unit.unstack("bucket", fill_value=0).reindex(columns=names, fill_value=0)
    m = totals.reindex(y.index).to_numpy(dtype=float)[:, None]
    residual = y.to_numpy(dtype=float) - shares[None, :] * m
    return np.asarray(units / (units - 1) * residual.T @ residual / shown**2, dtype=float)


def _design_effects(
    covariance: npt.NDArray[np.float64], pooled: npt.NDArray[np.float64], rows: tuple[float, float]
) -> npt.NDArray[np.float64]:
    """The generalised design effects: eigenvalues of the multinomial covariance's inverse
    times the clustered one, on all buckets but the last (the shares sum to 1)."""
    k = len(pooled) - 1
    multinomial = (np.diag(pooled) - np.outer(pooled, pooled)) * (1 / rows[0] + 1 / rows[1])
    ratio = np.linalg.solve(multinomial[:k, :k], covariance[:k, :k])
    return np.asarray(np.linalg.eigvals(ratio).real, dtype=float)


def item_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    alpha: float = 0.05,
    max_items: int = MAX_ITEMS,
) -> ItemDrift:
    """Whether the shares of shown items differ between two windows of exposures.

    Parameters
    ----------
    reference, current
        One row per unit and item: ``unit``, ``item``, ``impressions``.
    alpha
        The test's level.
    max_items
        Items tested on their own at most.

    Returns
    -------
    ItemDrift
        No test (``p_value`` None) when either window is empty or fewer than two buckets
        can be formed; the buckets are then the most shown items (and ``(other)``).

    References
    ----------
    Rao, J. N. K. and Scott, A. J. (1981). The analysis of categorical data from complex
    sample surveys. JASA 76, 221-230; (1984) On chi-squared tests for multiway contingency
    tables with cell proportions estimated from survey data. Ann. Statist. 12, 46-60.
    Without clustering (one impression per unit) the
    statistic is ``scipy.stats.chi2_contingency(..., correction=False)``'s.

    Examples
    --------
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> def window(p):
    ...     items = rng.choice(list("abcdef"), size=400, p=p)
    ...     return pd.DataFrame({"unit": range(400), "item": items, "impressions": 1})
    >>> flat, steep = [1 / 6] * 6, [0.5, 0.3, 0.05, 0.05, 0.05, 0.05]
    >>> before = window(flat)
    >>> item_drift(before, window(flat)).drifted, item_drift(before, window(steep)).drifted
    (False, True)
    """
    from scipy import stats
    from scipy.spatial.distance import jensenshannon

    reference, current = _check("reference", reference), _check("current", current)
    ref_items = reference.groupby("item")["impressions"].sum()
    cur_items = current.groupby("item")["impressions"].sum()
    rows = (float(ref_items.sum()), float(cur_items.sum()))
    pooled = ref_items.add(cur_items, fill_value=0).sort_values(ascending=False, kind="stable")
    kept = _buckets(pooled, rows, max_items) if min(rows) > 0 else []
    testable = min(rows) > 0 and len(kept) + (len(kept) < len(pooled)) >= 2
    if not testable:
        # Too little to test (or an empty window): the most shown items are still described.
        kept = [str(k) for k in pooled.index[:max_items]]
    names = kept + ([OTHER] if len(kept) < len(pooled) else [])
    counts = [_bucket_counts(items, kept, OTHER in names) for items in (ref_items, cur_items)]
    shares = [c / c.sum() if c.sum() else c for c in counts]
    js = float(jensenshannon(shares[0], shares[1], base=2)) if min(rows) > 0 else None
    if not testable:
        return ItemDrift(tuple(names), _t(shares[0]), _t(shares[1]), None, None, 0, None, js, alpha)
    table = np.vstack(counts)
    chi2 = float(stats.chi2_contingency(table, correction=False).statistic)
    covariance = sum(
        _cluster_covariance(frame, frame["item"].where(frame["item"].isin(kept), OTHER), s, names)
        for frame, s in ((reference, shares[0]), (current, shares[1]))
    )
    dof = len(names) - 1
    deffs = _design_effects(np.asarray(covariance), table.sum(axis=0) / table.sum(), rows)
    mean = float(deffs.mean())
    if not np.isfinite(mean) or mean <= 0:
        # A window of one unit: nothing to estimate clustering from.
        spread, mean = 0.0, 1.0
    else:
        spread = float(np.sum((deffs - mean) ** 2) / (dof * mean**2))
    # Second order (Satterthwaite): unequal design effects spread the statistic wider than
    # their mean alone says; the scaled statistic is referred to chi-square on fewer degrees.
    effect = mean * (1 + spread)
    statistic = chi2 / effect
    p_value = float(stats.chi2.sf(statistic, dof / (1 + spread)))
    return ItemDrift(
        tuple(names), _t(shares[0]), _t(shares[1]), statistic, p_value, dof, effect, js, alpha,
        effective_dof=dof / (1 + spread),
    )  # fmt: skip


def _bucket_counts(items: pd.Series, kept: list[str], other: bool) -> npt.NDArray[np.float64]:
    found = items.reindex(kept, fill_value=0).to_numpy(dtype=float)
    return np.append(found, float(items.sum()) - found.sum()) if other else found


def _t(values: npt.NDArray[np.float64]) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


def gini(exposures: npt.ArrayLike) -> float | None:
    """Gini coefficient of exposure: 0 when every item is shown equally, near 1 when a few
    take all impressions. Items never shown count as zeros.

    >>> gini([5, 5, 5, 5]), round(gini([0, 0, 0, 10]), 3)
    (0.0, 0.75)
    """
    values = np.sort(np.asarray(exposures, dtype=float))
    total = values.sum()
    if values.size == 0 or total <= 0:
        return None
    ranks = np.arange(1, values.size + 1)
    return float(np.sum((2 * ranks - values.size - 1) * values) / (values.size * total))


def popularity_ranks(counts: pd.Series) -> pd.Series:
    """Each item's popularity rank (1 = most popular; ties share their mean rank).

    >>> import pandas as pd
    >>> popularity_ranks(pd.Series({"a": 9, "b": 3, "c": 3, "d": 0})).tolist()
    [1.0, 2.5, 2.5, 4.0]
    """
    import pandas as pd
    from scipy import stats

    return pd.Series(stats.rankdata(-counts.to_numpy(dtype=float)), index=counts.index)


def rarefied_coverage(counts: pd.Series, draws: int, catalogue: int) -> float | None:
    """Expected distinct items among ``draws`` impressions drawn without replacement from
    ``counts``, over ``catalogue`` (Hurlbert's rarefaction): the coverage a window would have
    had with only ``draws`` impressions.

    References
    ----------
    Hurlbert, S. H. (1971). The nonconcept of species diversity. Ecology 52, 577-586.

    Examples
    --------
    >>> import pandas as pd
    >>> counts = pd.Series({"a": 2, "b": 1, "c": 1})
    >>> rarefied_coverage(counts, 4, 4), round(rarefied_coverage(counts, 1, 4), 3)
    (0.75, 0.25)
    """
    from scipy import special

    total = int(counts.sum())
    if not catalogue or total == 0:
        return None
    if draws >= total:
        return len(counts) / catalogue
    n = counts.to_numpy(dtype=float)
    # log C(total - n_i, draws) - log C(total, draws): the chance item i is never drawn.
    never = np.where(
        total - n >= draws,
        np.exp(
            special.gammaln(total - n + 1) - special.gammaln(total - n - draws + 1)
            - special.gammaln(total + 1) + special.gammaln(total - draws + 1)
        ),
        0.0,
    )  # fmt: skip
    return float(np.sum(1.0 - never) / catalogue)
