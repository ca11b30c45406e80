from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from champion.errors import InvalidInput
from champion.evaluation.stattests import benjamini_hochberg, holm


@pytest.mark.parametrize("seed", range(5))
def test_benjamini_hochberg_is_scipys(seed: int) -> None:
    p = np.random.default_rng(seed).uniform(0, 0.2, 12)
    np.testing.assert_allclose(benjamini_hochberg(p), stats.false_discovery_control(p))


def test_holm_by_hand() -> None:
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04 -> running max
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])


@pytest.mark.parametrize("seed", range(5))
def test_holm_rejects_exactly_the_step_down_set(seed: int) -> None:
    p = np.random.default_rng(seed).uniform(0, 0.05, 8)
    alpha, m = 0.05, p.size
    rejected = np.zeros(m, dtype=bool)
    for rank, index in enumerate(np.argsort(p)):
        if p[index] > alpha / (m - rank):
            break
        rejected[index] = True
    np.testing.assert_array_equal(holm(p) <= alpha, rejected)
    assert np.all(holm(p) >= p)
    assert np.all(holm(p) <= np.minimum(p * m, 1.0) + 1e-15)


def test_empty_input_gives_empty_output() -> None:
    assert holm([]).size == 0 and benjamini_hochberg([]).size == 0


@pytest.mark.parametrize("bad", [[0.1, 1.2], [[0.1]], ["x"]])
def test_p_values_outside_zero_one_are_rejected(bad: object) -> None:
    with pytest.raises(InvalidInput, match="'p_values' argument of holm"):
        holm(bad)
    with pytest.raises(InvalidInput, match="'p_values' argument of benjamini_hochberg"):
        benjamini_hochberg(bad)
