from __future__ import annotations

import math
from dataclasses import astuple

import numpy as np
import pytest

from champion.errors import InvalidInput
from champion.evaluation.stattests import RatioSummary, Summary, ratio_and_variance


def test_mean_and_variance_match_numpy() -> None:
    values = np.random.default_rng(0).normal(3.0, 2.0, 250)
    summary = Summary.from_values(values)
    assert summary.n == 250
    assert summary.mean == pytest.approx(values.mean())
    assert summary.variance == pytest.approx(values.var(ddof=1))


def test_counts_are_a_summary_of_zeros_and_ones() -> None:
    summary = Summary.from_counts(3, 10)
    assert summary == Summary.from_values([1, 1, 1, 0, 0, 0, 0, 0, 0, 0])
    assert summary.proportion_variance == pytest.approx(0.3 * 0.7)


def test_empty_and_single_summaries_have_nan_moments() -> None:
    assert math.isnan(Summary(0, 0.0, 0.0).mean)
    assert math.isnan(Summary(1, 2.0, 4.0).variance)


def test_rounding_never_gives_a_negative_variance() -> None:
    assert Summary(3, 3.0000000001, 3.0).variance == 0.0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"n": -1, "sum": 0.0, "sum_squares": 0.0}, "'n' field"),
        ({"n": 2.5, "sum": 0.0, "sum_squares": 0.0}, "'n' field"),
        ({"n": 2, "sum": math.nan, "sum_squares": 0.0}, "'sum' field"),
        ({"n": 2, "sum": 1.0, "sum_squares": -1.0}, "'sum_squares' field"),
    ],
)
def test_invalid_summaries_name_the_field(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(InvalidInput, match=field):
        Summary(**kwargs)  # type: ignore[arg-type]  # deliberately wrong types


def test_successes_beyond_trials_are_rejected() -> None:
    with pytest.raises(InvalidInput, match=r"'successes' argument .* Got 11 instead"):
        Summary.from_counts(11, 10)


def test_ratio_summary_moments_are_the_delta_method() -> None:
    rng = np.random.default_rng(3)
    y = rng.poisson(10, 300) + 1.0
    x = rng.binomial(y.astype(int), 0.1) * 1.0
    summary = RatioSummary.from_values(x, y)
    _, variance = ratio_and_variance(x.astype(np.float64), y.astype(np.float64))
    assert summary.mean == pytest.approx(x.sum() / y.sum())
    assert summary.variance / summary.n == pytest.approx(variance)
    # The linearised per-unit values x - R y, divided by the mean denominator.
    linear = (x - summary.mean * y) / y.mean()
    assert summary.variance == pytest.approx(linear.var(ddof=1))


def test_unit_denominators_make_a_ratio_summary_a_plain_summary() -> None:
    values = np.random.default_rng(4).normal(2.0, 1.0, 50)
    ratio = RatioSummary.from_values(values, np.ones(50))
    plain = Summary.from_values(values)
    assert (ratio.n, ratio.mean, ratio.variance) == pytest.approx(
        (plain.n, plain.mean, plain.variance)
    )


def test_shifting_moves_the_ratio_and_keeps_the_variance() -> None:
    rng = np.random.default_rng(5)
    y = rng.integers(1, 20, 80) * 1.0
    x = rng.binomial(y.astype(int), 0.3) * 1.0
    summary = RatioSummary.from_values(x, y)
    shifted = summary.shifted(-0.05)
    assert astuple(shifted) == pytest.approx(astuple(RatioSummary.from_values(x - 0.05 * y, y)))
    assert shifted.mean == pytest.approx(summary.mean - 0.05)
    assert shifted.variance == pytest.approx(summary.variance)


def test_empty_ratio_summaries_have_nan_moments_and_bad_fields_are_named() -> None:
    assert math.isnan(RatioSummary(0, 0.0, 0.0, 0.0, 0.0, 0.0).mean)
    assert math.isnan(RatioSummary(1, 1.0, 2.0, 1.0, 4.0, 2.0).variance)
    with pytest.raises(InvalidInput, match="'sum_y', 'sum_xx' and 'sum_yy' fields"):
        RatioSummary(2, 1.0, -1.0, 1.0, 1.0, 1.0)
    with pytest.raises(InvalidInput, match="'sum_xy' field of RatioSummary"):
        RatioSummary(2, 1.0, 1.0, 1.0, 1.0, math.inf)
    with pytest.raises(InvalidInput, match="same length"):
        RatioSummary.from_values([1.0, 2.0], [1.0])
