from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from champion.errors import InvalidInput
from champion.evaluation.stattests import InterleavingTest, interleaving_delta


def _impressions(wins: int, losses: int, ties: int) -> tuple[list[list[int]], list[list[int]]]:
    """One unit per impression: b clicked alone, a clicked alone, or both clicked once."""
    a = [[0]] * wins + [[1]] * losses + [[1]] * ties
    b = [[1]] * wins + [[0]] * losses + [[1]] * ties
    return a, b


def test_sign_test_matches_the_golden_vector() -> None:
    assert interleaving_delta(60, 40, 20) == pytest.approx(0.08333, abs=5e-6)
    result = InterleavingTest(seed=3).run(*_impressions(60, 40, 20))
    assert result.effect == pytest.approx(0.08333, abs=5e-6)
    assert result.p_value == pytest.approx(0.0569, abs=5e-5)
    assert result.p_value == pytest.approx(stats.binomtest(60, 100, 0.5).pvalue)


def test_impressions_without_clicks_are_ignored() -> None:
    a, b = _impressions(6, 2, 1)
    with_empty = InterleavingTest().run([*a, [0, 0]], [*b, [0, 0]])
    assert with_empty.effect == InterleavingTest().run(a, b).effect


def test_bootstrap_resamples_units_not_impressions() -> None:
    """Clustered units: every impression of a unit has the same outcome.

    Resampling impressions would give the interval of 400 independent outcomes; resampling
    the 20 units gives one about sqrt(20) times wider.
    """
    rng = np.random.default_rng(8)
    a, b = [], []
    for _ in range(20):
        b_wins = bool(rng.random() < 0.6)
        a.append([0 if b_wins else 1] * 20)
        b.append([1 if b_wins else 0] * 20)
    clustered = InterleavingTest(seed=1).run(a, b)
    flat = InterleavingTest(seed=1).run([[x] for u in a for x in u], [[y] for u in b for y in u])
    assert clustered.effect == pytest.approx(flat.effect)
    assert clustered.ci is not None and flat.ci is not None
    width_clustered = clustered.ci[1] - clustered.ci[0]
    width_flat = flat.ci[1] - flat.ci[0]
    assert width_clustered > 3 * width_flat


def test_the_seed_makes_the_interval_reproducible() -> None:
    a, b = InterleavingTest().example_arms(4)
    assert InterleavingTest(seed=5).run(a, b) == InterleavingTest(seed=5).run(a, b)
    assert InterleavingTest(seed=5).run(a, b).ci != InterleavingTest(seed=6).run(a, b).ci


def test_no_clicks_gives_no_verdict() -> None:
    result = InterleavingTest().run([[0, 0]], [[0, 0]])
    assert (result.p_value, result.significant) == (1.0, None)


def test_inputs_and_parameters_are_validated() -> None:
    with pytest.raises(InvalidInput, match="'n_resamples' parameter of InterleavingTest"):
        InterleavingTest(n_resamples=10)
    with pytest.raises(InvalidInput, match="same units and impressions"):
        InterleavingTest().run([[1, 0]], [[1]])
    with pytest.raises(InvalidInput, match=r"Got \[-1\] at a\[0\] instead"):
        InterleavingTest().run([[-1]], [[1]])
    with pytest.raises(InvalidInput, match="'b' argument of InterleavingTest"):
        InterleavingTest().run([[1]], "1")
