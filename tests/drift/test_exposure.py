"""Item drift, exposure Gini and popularity ranks against SciPy and Monte Carlo nulls."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from champion.drift.exposure import gini, item_drift, popularity_ranks, rarefied_coverage
from champion.errors import InvalidInput
from tests.drift.rankings import draw_lists, exposures


def test_without_clustering_it_is_pearsons_chi_square() -> None:
    rng = np.random.default_rng(1)
    items = [f"i{k}" for k in range(8)]

    def window() -> pd.DataFrame:
        drawn = rng.choice(items, size=500)
        return pd.DataFrame({"unit": range(500), "item": drawn, "impressions": 1})

    a, b = window(), window()
    result = item_drift(a, b)
    table = np.array([[(f["item"] == i).sum() for i in result.buckets] for f in (a, b)])
    expected = stats.chi2_contingency(table, correction=False)
    assert result.statistic is not None and result.design_effect is not None
    assert result.statistic * result.design_effect == pytest.approx(expected.statistic)
    # One impression per unit: the design effect is near 1 and the p-values agree.
    assert result.design_effect == pytest.approx(1.0, abs=0.15)
    assert result.dof == expected.dof == 7


def test_false_positive_rate_over_clustered_nulls_is_near_alpha() -> None:
    """100 seeded nulls: each user sees the same list on every request (1-4 of them)."""
    rejected = naive = 0
    for seed in range(100):
        rng = np.random.default_rng(seed)
        a = exposures(draw_lists(rng, 150, 0.8))
        b = exposures(draw_lists(rng, 150, 0.8))
        result = item_drift(a, b)
        assert result.statistic is not None and result.design_effect is not None
        rejected += result.drifted
        naive += stats.chi2.sf(result.statistic * result.design_effect, result.dof) < 0.05
    # Binomial(100, 0.05) stays below 11 with probability > 0.99.
    assert rejected <= 10
    # Counting impressions as independent draws would flag most of these nulls.
    assert naive >= 50


def test_the_long_tail_is_bucketed_so_every_cell_is_expected_five_times() -> None:
    rng = np.random.default_rng(3)
    a = exposures(draw_lists(rng, 60, 0.8))
    b = exposures(draw_lists(rng, 60, 0.8))
    result = item_drift(a, b)
    assert result.buckets[-1] == "(other)" and len(result.buckets) <= 31
    pooled = pd.concat([a, b]).groupby("item")["impressions"].sum()
    least = min(a["impressions"].sum(), b["impressions"].sum())
    for item in result.buckets[:-1]:
        assert pooled[item] / pooled.sum() * least >= 5


def test_empty_windows_have_no_test_and_bad_frames_are_refused() -> None:
    empty = pd.DataFrame({"unit": [], "item": [], "impressions": []})
    some = pd.DataFrame({"unit": ["u"], "item": ["a"], "impressions": [3]})
    untested = item_drift(empty, some)
    assert untested.p_value is None and not untested.drifted and untested.js_distance is None
    # What was shown is still described: the chart has its items.
    assert (untested.buckets, untested.reference, untested.current) == (("a",), (0.0,), (1.0,))
    with pytest.raises(InvalidInput, match=r"'current' exposures must have the columns"):
        item_drift(some, some.rename(columns={"item": "thing"}))


def test_gini_and_ranks() -> None:
    values = np.array([0, 1, 2, 7, 0, 3], dtype=float)
    diffs = np.abs(values[:, None] - values[None, :]).sum()
    assert gini(values) == pytest.approx(diffs / (2 * len(values) ** 2 * values.mean()))
    assert gini([0, 0]) is None
    ranks = popularity_ranks(pd.Series({"a": 1, "b": 5, "c": 1}))
    assert ranks.to_dict() == {"a": 2.5, "b": 1.0, "c": 2.5}


def test_rarefied_coverage_is_the_hypergeometric_expectation() -> None:
    counts = pd.Series({"a": 40, "b": 7, "c": 3, "d": 1})
    total, draws = int(counts.sum()), 10
    never = [stats.hypergeom(total, n, draws).pmf(0) for n in counts]
    expected = sum(1 - p for p in never) / 6
    assert rarefied_coverage(counts, draws, 6) == pytest.approx(expected)
    assert rarefied_coverage(counts, 1000, 6) == pytest.approx(4 / 6)
    assert rarefied_coverage(pd.Series(dtype=float), 5, 6) is None
