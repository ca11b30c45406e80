from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial import distance

from champion.drift import default_detectors
from champion.drift.detectors import (
    Chi2Detector,
    JensenShannonDetector,
    KsDetector,
    PsiDetector,
    WassersteinDetector,
)
from champion.drift.detectors.psi import PSI_FLOOR
from champion.drift.profile import ColumnProfile
from champion.drift.window import ColumnAccumulator
from champion.errors import InvalidInput
from champion.testing import check_detector

TOLERANCE = 1e-9


@pytest.mark.parametrize("name", default_detectors().names())
def test_every_registered_detector_passes_the_contract(name: str) -> None:
    check_detector(default_detectors().get(name))


@pytest.mark.parametrize("seed", range(5))
def test_ks_agrees_with_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ref, cur = rng.normal(size=800), rng.normal(0.1, 1.2, size=600)
    result = KsDetector().compare(ColumnProfile.from_values("x", ref), cur)
    expected = stats.ks_2samp(ref, cur)
    assert result.statistic == pytest.approx(expected.statistic, abs=TOLERANCE)
    assert result.p_value == pytest.approx(expected.pvalue, abs=TOLERANCE)


def test_ks_on_a_sketch_is_close_to_scipy_on_the_full_reference() -> None:
    rng = np.random.default_rng(7)
    ref, cur = rng.lognormal(size=200_000), rng.lognormal(0.02, size=20_000)
    result = KsDetector().compare(ColumnProfile.from_values("x", ref), cur)
    expected = stats.ks_2samp(ref, cur, method="asymp")
    assert abs(result.statistic - expected.statistic) < 1e-3
    assert result.p_value == pytest.approx(expected.pvalue, rel=0.5)


@pytest.mark.parametrize("correction", [True, False])
def test_chi2_is_scipys_test_of_homogeneity(correction: bool) -> None:
    rng = np.random.default_rng(1)
    ref = rng.choice(list("abcd"), 900, p=[0.4, 0.3, 0.2, 0.1])
    cur = np.concatenate([rng.choice(list("abc"), 400, p=[0.3, 0.4, 0.3]), ["new"] * 5])
    result = Chi2Detector(correction=correction).compare(ColumnProfile.from_values("c", ref), cur)
    keys = ["a", "b", "c", "d", "new"]
    table = np.array([[np.sum(ref == k) for k in keys], [np.sum(cur == k) for k in keys]])
    expected = stats.chi2_contingency(table, correction=correction)
    assert result.statistic == pytest.approx(expected.statistic, abs=TOLERANCE)
    assert result.p_value == pytest.approx(expected.pvalue, abs=TOLERANCE)


def test_chi2_on_two_categories_matches_scipys_default_yates_correction() -> None:
    ref = ["yes"] * 70 + ["no"] * 30
    cur = ["yes"] * 50 + ["no"] * 50
    result = Chi2Detector().compare(ColumnProfile.from_values("c", ref), cur)
    expected = stats.chi2_contingency(np.array([[30, 70], [50, 50]]))
    assert result.p_value == pytest.approx(expected.pvalue, abs=TOLERANCE)


def test_jensen_shannon_agrees_with_scipy() -> None:
    rng = np.random.default_rng(2)
    ref = rng.choice(list("abcde"), 5000)
    cur = rng.choice(list("abcde"), 3000, p=[0.3, 0.3, 0.2, 0.1, 0.1])
    result = JensenShannonDetector().compare(ColumnProfile.from_values("c", ref), cur)
    keys = list("abcde")
    p = np.array([np.mean(ref == k) for k in keys])
    q = np.array([np.mean(cur == k) for k in keys])
    assert result.statistic == pytest.approx(distance.jensenshannon(p, q), abs=TOLERANCE)


def test_jensen_shannon_on_numbers_uses_the_reference_bins() -> None:
    rng = np.random.default_rng(2)
    ref, cur = rng.normal(size=4000), rng.normal(0.3, size=4000)
    profile = ColumnProfile.from_values("x", ref)
    assert profile.bin_edges is not None
    edges = np.concatenate([[-np.inf], profile.bin_edges, [np.inf]])
    # The profile's bins are [e_i, e_(i+1)); numpy's histogram agrees away from the edges.
    p = np.histogram(ref, edges)[0] / len(ref)
    q = np.histogram(cur, edges)[0] / len(cur)
    result = JensenShannonDetector().compare(profile, cur)
    assert result.statistic == pytest.approx(distance.jensenshannon(p, q), abs=1e-3)


@pytest.mark.parametrize("seed", range(3))
def test_wasserstein_agrees_with_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ref, cur = rng.gamma(2.0, size=3000), rng.gamma(2.2, size=2000)
    result = WassersteinDetector().compare(ColumnProfile.from_values("x", ref), cur)
    expected = stats.wasserstein_distance(ref, cur) / np.std(ref)
    assert result.statistic == pytest.approx(expected, abs=TOLERANCE)


def test_wasserstein_on_a_sketch_is_close() -> None:
    rng = np.random.default_rng(4)
    ref, cur = rng.lognormal(0, 0.8, 300_000), rng.lognormal(0.05, 0.8, 50_000)
    result = WassersteinDetector().compare(ColumnProfile.from_values("x", ref), cur)
    expected = stats.wasserstein_distance(ref, cur) / np.std(ref)
    assert abs(result.statistic - expected) < 0.005


def test_psi_definition_with_its_floor() -> None:
    ref = ["a"] * 50 + ["b"] * 50
    cur = ["a"] * 80 + ["c"] * 20
    result = PsiDetector().compare(ColumnProfile.from_values("c", ref), cur)
    r = np.array([0.5, 0.5, PSI_FLOOR])
    c = np.array([0.8, PSI_FLOOR, 0.2])
    assert result.statistic == pytest.approx(np.sum((c - r) * np.log(c / r)), abs=TOLERANCE)
    assert result.drifted and result.p_value is None


def test_chunks_give_the_same_result_as_the_whole() -> None:
    rng = np.random.default_rng(5)
    profile = ColumnProfile.from_values("x", rng.normal(size=3000))
    current = rng.normal(0.1, size=5000)
    accumulator = ColumnAccumulator(profile)
    for chunk in np.array_split(current, 7):
        accumulator.update(pd.Series(chunk))
    window = accumulator.window()
    for detector in (KsDetector(), PsiDetector(), WassersteinDetector(), JensenShannonDetector()):
        assert detector.compare(profile, window) == detector.compare(profile, current)


def test_the_reservoir_is_bounded_uniform_and_seeded() -> None:
    profile = ColumnProfile.from_values("x", np.arange(1000.0))
    windows = []
    for _ in range(2):
        accumulator = ColumnAccumulator(profile, sample_size=2000, seed=3)
        for start in range(0, 100_000, 10_000):
            accumulator.update(np.arange(start, start + 10_000, dtype=float))
        windows.append(accumulator.window())
    sample = windows[0].sample
    assert sample is not None and len(sample) == 2000 and windows[0].sampled
    assert windows[1].sample is not None and np.array_equal(sample, windows[1].sample)
    assert stats.kstest(sample, stats.uniform(0, 100_000).cdf).pvalue > 0.01


def test_invalid_parameters_and_kinds_are_refused() -> None:
    with pytest.raises(InvalidInput, match=r"'threshold' parameter of KsDetector .* Got 1.5"):
        KsDetector(threshold=1.5)
    with pytest.raises(InvalidInput, match=r"'threshold' parameter of PsiDetector .* Got -0.1"):
        PsiDetector(threshold=-0.1)
    with pytest.raises(InvalidInput, match="'ks' detector does not apply to categorical"):
        KsDetector().compare(ColumnProfile.from_values("c", ["a", "b", "a"]), ["a"])
    with pytest.raises(InvalidInput, match="no non-missing current value"):
        KsDetector().compare(ColumnProfile.from_values("x", [1.0, 2.0, 3.0]), [np.nan])
    with pytest.raises(InvalidInput, match="'sample_size' parameter"):
        ColumnAccumulator(ColumnProfile.from_values("x", [1.0, 2.0, 3.0]), sample_size=0)
