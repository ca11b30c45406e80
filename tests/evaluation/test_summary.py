from __future__ import annotations

import math

import numpy as np
import pytest

from champion.errors import InvalidInput
from champion.evaluation.stattests import Summary


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
