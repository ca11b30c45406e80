from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial import distance

from champion.drift.evidently import binned_shares, compare_evidently, default_test, run_test
from champion.errors import InvalidInput


def _numbers(n: int, shift: float, seed: int) -> pd.Series:
    return pd.Series(np.random.default_rng(seed).normal(shift, 1.0, n))


def test_psi_and_jensen_shannon_use_sturges_bins_on_the_combined_data() -> None:
    ref, cur = _numbers(3000, 0.0, 1), _numbers(2000, 0.3, 2)
    edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
    r = np.histogram(ref, edges)[0] / len(ref)
    c = np.histogram(cur, edges)[0] / len(cur)
    r, c = np.where(r == 0, 1e-4, r), np.where(c == 0, 1e-4, c)
    got_r, got_c = binned_shares(ref, cur, "numeric")
    assert np.allclose(got_r, r) and np.allclose(got_c, c)
    psi = run_test("psi", ref, cur, "numeric")
    assert psi.statistic == pytest.approx(np.sum((r - c) * np.log(r / c)), abs=1e-12)
    js = run_test("jensenshannon", ref, cur, "numeric")
    raw_r, raw_c = np.histogram(ref, edges)[0] / len(ref), np.histogram(cur, edges)[0] / len(cur)
    assert js.statistic == pytest.approx(distance.jensenshannon(raw_r, raw_c), abs=1e-12)


def test_wasserstein_ks_and_chi_square_definitions() -> None:
    ref, cur = _numbers(1500, 0.0, 3), _numbers(1500, 0.2, 4)
    w = run_test("wasserstein", ref, cur, "numeric")
    assert w.statistic == pytest.approx(stats.wasserstein_distance(ref, cur) / np.std(ref))
    assert w.drifted == (w.statistic >= 0.1)
    ks = run_test("ks", ref, cur, "numeric")
    assert ks.p_value == pytest.approx(stats.ks_2samp(ref, cur).pvalue)
    cat_ref = pd.Series(["a"] * 60 + ["b"] * 30 + ["c"] * 10)
    cat_cur = pd.Series(["a"] * 40 + ["b"] * 40 + ["c"] * 20)
    chi = run_test("chi_square", cat_ref, cat_cur, "categorical")
    assert chi.p_value == pytest.approx(stats.chisquare([40, 40, 20], [60, 30, 10]).pvalue)


def test_z_test_on_a_binary_column() -> None:
    ref = pd.Series(["y"] * 300 + ["n"] * 700)
    cur = pd.Series(["y"] * 400 + ["n"] * 600)
    pooled = 0.35
    z = (0.3 - 0.4) / np.sqrt(pooled * (1 - pooled) * (2 / 1000))
    result = run_test("z", ref, cur, "categorical")
    assert result.p_value == pytest.approx(2 * (1 - stats.norm.cdf(abs(z))))


def test_default_test_table() -> None:
    small, large = _numbers(1000, 0, 1), _numbers(1001, 0, 1)
    few = pd.Series([1.0, 2.0, 3.0] * 400)
    cat = pd.Series(list("abc") * 400)
    assert default_test(small, small, "numeric") == "ks"
    assert default_test(large, large, "numeric") == "wasserstein"
    assert default_test(few, few, "numeric") == "jensenshannon"
    assert default_test(few[:999], few, "numeric") == "chi_square"
    assert default_test(cat, cat, "categorical") == "jensenshannon"
    assert default_test(cat[:900], cat, "categorical") == "chi_square"


def test_dataset_drift_needs_half_the_columns() -> None:
    ref = pd.DataFrame({f"x{i}": _numbers(2000, 0.0, i) for i in range(4)})
    cur = pd.DataFrame({f"x{i}": _numbers(2000, 0.5 if i < 2 else 0.0, 10 + i) for i in range(4)})
    result = compare_evidently(ref, cur)
    assert result.share_drifted == 0.5 and result.dataset_drift
    assert not compare_evidently(ref, cur, drift_share=0.75).dataset_drift


def test_unknown_test_is_named() -> None:
    with pytest.raises(InvalidInput, match="Unknown Evidently test 'kss'"):
        run_test("kss", _numbers(10, 0, 1), _numbers(10, 0, 2), "numeric")
