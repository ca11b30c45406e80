"""The issue's worked values, and agreement with SciPy to 1e-9 in both modes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial import distance

from champion.drift.detectors import JensenShannonDetector, PsiDetector, WassersteinDetector
from champion.drift.evidently import run_test
from champion.drift.profile import ColumnProfile

TOLERANCE = 1e-9
REFERENCE = ["a"] * 25 + ["b"] * 25 + ["c"] * 25 + ["d"] * 25
CURRENT = ["a"] * 10 + ["b"] * 20 + ["c"] * 30 + ["d"] * 40


def test_psi_of_the_uniform_against_the_ramp() -> None:
    result = PsiDetector().compare(ColumnProfile.from_values("c", REFERENCE), CURRENT)
    assert result.statistic == pytest.approx(0.228217, abs=5e-7)
    evidently = run_test("psi", pd.Series(REFERENCE), pd.Series(CURRENT), "categorical")
    assert evidently.statistic == pytest.approx(result.statistic, abs=TOLERANCE)


def test_jensen_shannon_distance_in_natural_log() -> None:
    result = JensenShannonDetector().compare(ColumnProfile.from_values("c", REFERENCE), CURRENT)
    assert result.statistic == pytest.approx(0.166930, abs=5e-7)
    expected = distance.jensenshannon([0.25] * 4, [0.1, 0.2, 0.3, 0.4])
    assert result.statistic == pytest.approx(expected, abs=TOLERANCE)
    evidently = run_test("jensenshannon", pd.Series(REFERENCE), pd.Series(CURRENT), "categorical")
    assert evidently.statistic == pytest.approx(expected, abs=TOLERANCE)


def test_a_tenth_of_a_standard_deviation_is_a_normed_wasserstein_of_0_1() -> None:
    reference = np.random.default_rng(0).normal(size=5000)
    current = reference + 0.1 * reference.std()
    result = WassersteinDetector().compare(ColumnProfile.from_values("x", reference), current)
    assert f"{result.statistic:.3f}" == "0.100"
    assert result.statistic == pytest.approx(0.1, abs=TOLERANCE)
    expected = stats.wasserstein_distance(reference, current) / np.std(reference)
    assert result.statistic == pytest.approx(expected, abs=TOLERANCE)
    evidently = run_test("wasserstein", pd.Series(reference), pd.Series(current), "numeric")
    assert evidently.statistic == pytest.approx(expected, abs=TOLERANCE)
