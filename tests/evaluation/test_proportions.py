from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from champion.errors import InvalidInput
from champion.evaluation.stattests import ProportionsTest, Summary


def test_relative_p_value_matches_gbstats() -> None:
    a, b = Summary.from_counts(14, 28), Summary.from_counts(16, 30)
    result = ProportionsTest(relative=True, distribution="t").run(a, b)
    assert result.p_value == pytest.approx(0.80707, abs=5e-6)


@pytest.mark.parametrize("seed", range(5))
def test_z_equals_the_z_computed_from_raw_zero_one_arrays(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b = rng.binomial(1, 0.2, 900), rng.binomial(1, 0.24, 1100)
    se = np.sqrt(a.var(ddof=0) / a.size + b.var(ddof=0) / b.size)
    z = (b.mean() - a.mean()) / se
    result = ProportionsTest().run(
        Summary.from_counts(int(a.sum()), a.size), Summary.from_counts(int(b.sum()), b.size)
    )
    assert result.statistic == pytest.approx(z, rel=1e-9)
    assert result.p_value == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-9)
    assert result.effect == pytest.approx(b.mean() - a.mean())


def test_arms_must_be_counts() -> None:
    with pytest.raises(InvalidInput, match="'b' argument of ProportionsTest must be a Summary"):
        ProportionsTest().run(Summary.from_counts(3, 10), Summary.from_values([0.5, 2.0]))


def test_alpha_is_validated() -> None:
    with pytest.raises(InvalidInput, match="'alpha' parameter of ProportionsTest"):
        ProportionsTest().run(Summary.from_counts(3, 10), Summary.from_counts(3, 10), alpha=2.0)
