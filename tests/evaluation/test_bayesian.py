from __future__ import annotations

import pytest
from scipy import stats

from champion.errors import InvalidInput
from champion.evaluation.stattests import BayesianTest, ProportionsTest, Summary


def test_chance_to_win_matches_gbstats_improper_prior() -> None:
    result = BayesianTest().run(Summary.from_counts(49, 100), Summary.from_counts(51, 100))
    assert result.chance_to_win == pytest.approx(0.60918, abs=5e-6)
    assert result.relative


def test_flat_prior_p_value_is_the_relative_z_test() -> None:
    a, b = Summary.from_counts(120, 1000), Summary.from_counts(150, 1000)
    bayes = BayesianTest().run(a, b)
    z = ProportionsTest(relative=True).run(a, b)
    assert bayes.p_value == pytest.approx(z.p_value)
    assert bayes.ci == pytest.approx(z.ci)


def test_a_proper_prior_shrinks_towards_zero() -> None:
    a, b = Summary.from_counts(40, 200), Summary.from_counts(55, 200)
    flat = BayesianTest().run(a, b)
    proper = BayesianTest(prior_variance=0.01).run(a, b)
    assert 0 < proper.effect < flat.effect
    assert proper.chance_to_win is not None and flat.chance_to_win is not None
    assert 0.5 < proper.chance_to_win < flat.chance_to_win


def test_mean_metric_uses_the_sample_variance() -> None:
    a, b = Summary.from_values([1.0, 2.0, 3.0, 4.0]), Summary.from_values([2.0, 3.0, 4.0, 6.0])
    result = BayesianTest(metric="mean").run(a, b)
    se = result.effect / result.statistic
    assert result.chance_to_win == pytest.approx(stats.norm.sf(0, result.effect, se))


def test_parameters_are_validated() -> None:
    with pytest.raises(InvalidInput, match="'prior_variance' parameter of BayesianTest"):
        BayesianTest(prior_variance=0.0)
    with pytest.raises(InvalidInput, match="'metric' parameter of BayesianTest"):
        BayesianTest(metric="ratio")
