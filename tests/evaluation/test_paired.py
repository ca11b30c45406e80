from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics

from champion.errors import InvalidInput
from champion.evaluation.stattests import McNemarTest, PairedBootstrapTest


def _correctness(only_a: int, only_b: int, both: int) -> tuple[list[int], list[int]]:
    a = [1] * only_a + [0] * only_b + [1] * both + [0] * 5
    b = [0] * only_a + [1] * only_b + [1] * both + [0] * 5
    return a, b


def test_small_discordant_counts_use_the_exact_binomial() -> None:
    a, b = _correctness(3, 12, 40)
    result = McNemarTest().run(a, b)
    assert result.p_value == pytest.approx(stats.binomtest(12, 15, 0.5).pvalue)
    assert result.effect == pytest.approx(9 / 60)


def test_large_discordant_counts_use_the_corrected_chi_square() -> None:
    a, b = _correctness(30, 50, 100)
    result = McNemarTest().run(a, b)
    assert result.statistic == pytest.approx((abs(50 - 30) - 1) ** 2 / 80)
    assert result.p_value == pytest.approx(stats.chi2.sf((20 - 1) ** 2 / 80, 1))
    # the chi-square approximates the exact test well at this size
    assert result.p_value == pytest.approx(stats.binomtest(50, 80).pvalue, abs=0.01)


def test_no_discordant_examples_give_p_one() -> None:
    assert McNemarTest().run([1, 0, 1], [1, 0, 1]).p_value == 1.0


def test_mcnemar_inputs_are_validated() -> None:
    with pytest.raises(InvalidInput, match="'b' argument of McNemarTest must be 0/1"):
        McNemarTest().run([1, 0, 1], [1, 2, 1])
    with pytest.raises(InvalidInput, match="as long as 'a'"):
        McNemarTest().run([1, 0, 1], [1, 0])
    with pytest.raises(InvalidInput, match="'exact_below' parameter of McNemarTest"):
        McNemarTest(exact_below=-1)


def test_bootstrap_auc_difference_is_sklearns() -> None:
    a, b = PairedBootstrapTest().example_arms(1)
    result = PairedBootstrapTest(n_resamples=300).run(a, b)
    expected = metrics.roc_auc_score(b[0], b[1]) - metrics.roc_auc_score(a[0], a[1])
    assert result.effect == pytest.approx(expected)
    assert result.ci is not None and result.ci[0] <= result.effect <= result.ci[1]


def test_bootstrap_rmse_and_ndcg() -> None:
    rng = np.random.default_rng(6)
    y = rng.normal(0, 1, 300)
    rmse = PairedBootstrapTest(metric="rmse", n_resamples=300).run(
        (y, y + rng.normal(0, 1.0, 300)), (y, y + rng.normal(0, 0.5, 300))
    )
    assert rmse.effect < 0 and rmse.p_value < 0.01
    relevance = rng.integers(0, 4, (80, 10)).astype(float)
    ndcg = PairedBootstrapTest(metric="ndcg", n_resamples=300).run(
        (relevance, rng.normal(0, 1, (80, 10))), (relevance, relevance + rng.normal(0, 1, (80, 10)))
    )
    assert ndcg.effect > 0 and ndcg.p_value < 0.01


def test_identical_versions_are_not_different() -> None:
    a, _ = PairedBootstrapTest().example_arms(2)
    result = PairedBootstrapTest(n_resamples=200).run(a, a)
    assert (result.effect, result.p_value) == (0.0, 1.0)


def test_bootstrap_inputs_are_validated() -> None:
    a, b = PairedBootstrapTest().example_arms(3)
    with pytest.raises(InvalidInput, match="must share y_true"):
        PairedBootstrapTest().run(a, (1 - b[0], b[1]))
    with pytest.raises(InvalidInput, match="'metric' parameter of PairedBootstrapTest"):
        PairedBootstrapTest(metric="mae")
    with pytest.raises(InvalidInput, match="same 2-D shape"):
        PairedBootstrapTest(metric="ndcg").run(a, b)
    with pytest.raises(InvalidInput, match="does not suit metric 'auc'"):
        PairedBootstrapTest().run((np.ones(5), np.arange(5.0)), (np.ones(5), np.arange(5.0)))
