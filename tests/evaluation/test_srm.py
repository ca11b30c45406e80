from __future__ import annotations

import pytest
from scipy import stats

from champion.errors import InvalidInput
from champion.evaluation.stattests import SrmTest


@pytest.mark.parametrize(
    ("a", "b", "p_value", "alert"),
    [(502, 498, "0.8993", False), (600, 400, "2.54e-10", True), (50_500, 49_500, "0.00157", False)],
)
def test_matches_gbstats_vectors(a: int, b: int, p_value: str, alert: bool) -> None:
    result = SrmTest().run(a, b)
    digits = len(p_value.split("e")[0].replace("0.", "", 1).lstrip("0").replace(".", ""))
    assert f"{result.p_value:.{digits}g}" == p_value
    assert result.significant is alert


def test_agrees_with_scipy_chisquare_for_an_uneven_split() -> None:
    result = SrmTest(expected_share=0.2).run(790, 210)
    expected = stats.chisquare([790, 210], f_exp=[800, 200])
    assert result.statistic == pytest.approx(expected.statistic)
    assert result.p_value == pytest.approx(expected.pvalue)
    assert result.effect == pytest.approx(0.21 - 0.2)


def test_no_verdict_under_eight_units_per_arm() -> None:
    assert SrmTest().run(7, 30).significant is None
    assert SrmTest().run(0, 0).enough_data is False
    assert SrmTest().run(8, 30).significant is not None


def test_parameters_and_counts_are_validated() -> None:
    with pytest.raises(InvalidInput, match=r"'expected_share' parameter of SrmTest .* \(0, 1\)"):
        SrmTest(expected_share=1.0)
    with pytest.raises(InvalidInput, match="'min_units' parameter of SrmTest"):
        SrmTest(min_units=0)
    with pytest.raises(InvalidInput, match=r"'a' argument of SrmTest .* Got -1 instead"):
        SrmTest().run(-1, 3)
