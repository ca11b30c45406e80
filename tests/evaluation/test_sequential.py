from __future__ import annotations

import math

import numpy as np
import pytest

from champion.errors import InvalidInput
from champion.evaluation.stattests import SequentialTest, Summary, WelchTest, always_valid

LOOKS, BATCH, REPLICATIONS = 10, 200, 1000


def _peeking_false_positive_rates() -> tuple[float, float]:
    rng = np.random.default_rng(2017)
    sequential, naive = SequentialTest(), WelchTest(distribution="normal")
    sequential_hits = naive_hits = 0
    for _ in range(REPLICATIONS):
        a, b = rng.normal(0.0, 1.0, (2, LOOKS, BATCH))
        sums_a, sums_b = np.cumsum(a.sum(axis=1)), np.cumsum(b.sum(axis=1))
        squares_a, squares_b = np.cumsum((a * a).sum(axis=1)), np.cumsum((b * b).sum(axis=1))
        seq_rejected = naive_rejected = False
        for look in range(LOOKS):
            n = BATCH * (look + 1)
            arm_a = Summary(n, float(sums_a[look]), float(squares_a[look]))
            arm_b = Summary(n, float(sums_b[look]), float(squares_b[look]))
            seq_rejected |= sequential.run(arm_a, arm_b).p_value < 0.05
            naive_rejected |= naive.run(arm_a, arm_b).p_value < 0.05
        sequential_hits += seq_rejected
        naive_hits += naive_rejected
    return sequential_hits / REPLICATIONS, naive_hits / REPLICATIONS


@pytest.mark.slow(seconds=6)
def test_peeking_after_every_batch_keeps_the_sequential_test_valid() -> None:
    sequential_rate, naive_rate = _peeking_false_positive_rates()
    assert sequential_rate <= 0.05
    assert naive_rate > 0.15


def test_p_value_below_alpha_exactly_when_zero_leaves_the_confidence_sequence() -> None:
    rng = np.random.default_rng(5)
    for shift in np.linspace(0.0, 0.2, 15):
        a = Summary.from_values(rng.normal(0.0, 1.0, 1500))
        b = Summary.from_values(rng.normal(shift, 1.0, 1500))
        result = SequentialTest().run(a, b, alpha=0.05)
        assert result.ci is not None
        assert (result.p_value < 0.05) == (not result.ci[0] <= 0.0 <= result.ci[1])


def test_confidence_sequence_is_wider_than_the_fixed_horizon_interval() -> None:
    a, b = SequentialTest().example_arms(0)
    sequential = SequentialTest().run(a, b)
    fixed = WelchTest(distribution="normal").run(a, b)
    assert sequential.ci is not None and fixed.ci is not None
    assert sequential.ci[0] < fixed.ci[0] and fixed.ci[1] < sequential.ci[1]
    assert sequential.p_value > fixed.p_value


def test_matches_the_waudby_smith_half_width() -> None:
    a = Summary.from_values(np.random.default_rng(1).normal(0, 2, 1000))
    b = Summary.from_values(np.random.default_rng(2).normal(0, 2, 1000))
    result = SequentialTest(tuning_n=5000).run(a, b, alpha=0.05)
    n = a.n + b.n
    s2 = (a.variance / a.n + b.variance / b.n) * n
    rho2 = (-2 * math.log(0.05) + math.log(-2 * math.log(0.05) + 1)) / 5000
    half = math.sqrt(s2) * math.sqrt(
        2 * (n * rho2 + 1) / (n**2 * rho2) * math.log(math.sqrt(n * rho2 + 1) / 0.05)
    )
    assert result.ci is not None
    assert result.ci[1] - result.effect == pytest.approx(half)


def test_parameters_are_validated() -> None:
    with pytest.raises(InvalidInput, match="'tuning_n' parameter of SequentialTest"):
        SequentialTest(tuning_n=0)
    with pytest.raises(InvalidInput, match="'a' argument of SequentialTest"):
        SequentialTest().run(Summary(1, 1.0, 1.0), Summary(5, 1.0, 1.0))


def test_always_valid_is_the_sequential_test_on_an_estimate() -> None:
    a, b = SequentialTest().example_arms(1)
    result = SequentialTest().run(a, b)
    variance = a.variance / a.n + b.variance / b.n
    direct = always_valid(b.mean - a.mean, variance, a.n + b.n, alpha=0.05)
    assert direct == result
