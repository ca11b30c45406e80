from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from champion.errors import InvalidInput
from champion.evaluation.comparisons import interleaving_verdict
from champion.evaluation.design import ExperimentDesign
from champion.evaluation.stattests import InterleavingTest, always_valid, interleaving_delta
from champion.evaluation.stattests.interleaving import preference_test, unit_preferences

WINS = [3, 2, 0, 4, 1, 2, 5, 0, 1, 3, 2, 0]
LOSSES = [1, 2, 1, 0, 0, 1, 1, 2, 0, 1, 0, 0]


def _split_users(seed: int, users: int = 40) -> tuple[list[int], list[int]]:
    """Half the users prefer each ranker strongly; activity is heavy-tailed (Pareto)."""
    rng = np.random.default_rng(seed)
    wins, losses = [], []
    for user in range(users):
        impressions = min(1 + int(rng.pareto(1.0) * 2), 60)
        p_b, p_a = (0.5, 0.2) if user % 2 == 0 else (0.2, 0.5)
        clicked_b, clicked_a = rng.random(impressions) < p_b, rng.random(impressions) < p_a
        wins.append(int(np.sum(clicked_b & ~clicked_a)))
        losses.append(int(np.sum(clicked_a & ~clicked_b)))
    return wins, losses


def test_each_unit_gives_one_preference() -> None:
    assert unit_preferences([3, 0, 1, 0], [1, 2, 1, 0]).tolist() == [0.5, -1.0, 0.0]
    assert interleaving_delta(60, 40, 20) == pytest.approx(0.08333, abs=5e-6)


def test_the_t_test_is_scipys_one_sample_t_test_over_units() -> None:
    preferences = unit_preferences(WINS, LOSSES)
    expected = stats.ttest_1samp(preferences, 0.0)
    interval = expected.confidence_interval(0.9)
    result = preference_test(WINS, LOSSES, test="t", alpha=0.1)
    assert result.effect == pytest.approx(float(np.mean(preferences)))
    assert result.statistic == pytest.approx(expected.statistic)
    assert result.p_value == pytest.approx(expected.pvalue)
    assert result.ci == pytest.approx((interval.low, interval.high))


def test_the_sign_test_counts_units_not_impressions() -> None:
    # 10 units prefer the challenger, 2 the champion, 1 tie; impressions say 28 against 9
    result = preference_test(WINS, LOSSES, test="sign")
    assert result.p_value == pytest.approx(stats.binomtest(8, 10, 0.5).pvalue)
    assert result.statistic == 6.0


def test_the_bootstrap_is_scipys_over_units() -> None:
    preferences = unit_preferences(WINS, LOSSES)
    expected = stats.bootstrap(
        (preferences,),
        np.mean,
        confidence_level=0.95,
        n_resamples=500,
        method="percentile",
        rng=np.random.default_rng(7),
    )
    result = preference_test(WINS, LOSSES, test="bootstrap", n_resamples=500, seed=7)
    assert result.ci == pytest.approx(
        (expected.confidence_interval.low, expected.confidence_interval.high)
    )
    # the p-value is under alpha when the interval leaves out 0
    for alpha in (0.05, 0.2, 0.5):
        tested = preference_test(WINS, LOSSES, test="bootstrap", alpha=alpha, n_resamples=500)
        assert tested.ci is not None
        assert bool(tested.significant) == (tested.ci[0] > 0 or tested.ci[1] < 0), alpha


def test_the_sequential_test_is_always_valid_on_the_mean_preference() -> None:
    preferences = unit_preferences(WINS, LOSSES)
    n = preferences.size
    expected = always_valid(
        float(preferences.mean()), float(preferences.var(ddof=1)) / n, n, alpha=0.05, tuning_n=50
    )
    assert preference_test(WINS, LOSSES, tuning_n=50) == expected


def test_active_units_do_not_outvote_the_others() -> None:
    # one user with 500 impressions prefers the champion; 30 users slightly prefer the challenger
    wins, losses = [100] + [2] * 30, [400] + [1] * 30
    pooled = interleaving_delta(sum(wins), sum(losses), 0)
    result = preference_test(wins, losses, test="t")
    assert pooled < 0 < result.effect


@pytest.mark.parametrize("test", ["sequential", "t", "sign", "bootstrap"])
def test_half_the_users_preferring_each_ranker_is_not_a_winner(test: str) -> None:
    runs = 60
    named = sum(
        bool(preference_test(*_split_users(seed), test=test, n_resamples=300).significant)
        for seed in range(runs)
    )
    impression_level = 0
    for seed in range(runs):
        wins, losses = (sum(c) for c in _split_users(seed))
        impression_level += stats.binomtest(wins, wins + losses, 0.5).pvalue < 0.05
    assert named <= 0.05 * runs
    assert impression_level >= 0.2 * runs  # what the per-impression sign test made of it


def test_a_real_preference_is_found() -> None:
    rng = np.random.default_rng(3)
    wins = rng.poisson(1.6, 300)
    losses = rng.poisson(1.2, 300)
    for test in ("t", "sign", "bootstrap"):
        result = preference_test(wins, losses, test=test, n_resamples=300)
        assert result.significant and result.effect > 0, test


def test_agreeing_units_and_too_few_units() -> None:
    unanimous = preference_test([2, 1, 3], [0, 0, 0], test="t")
    assert (unanimous.effect, unanimous.p_value, unanimous.ci) == (1.0, 0.0, (1.0, 1.0))
    assert preference_test([2, 1], [2, 1], test="bootstrap").p_value == 1.0
    lone = preference_test([3, 0], [1, 0])
    assert (lone.enough_data, lone.significant, lone.p_value) == (False, None, 1.0)
    assert not preference_test([1, 2], [1, 2], test="sign").enough_data


def test_impressions_are_scored_per_unit() -> None:
    a = [[1, 0], [0], [1, 1, 0], [0, 0]]
    b = [[0, 2], [1], [2, 0, 1], [1, 1]]
    result = InterleavingTest().run(a, b)
    assert result == preference_test([1, 1, 2, 2], [1, 0, 1, 0], test="t")
    swapped = InterleavingTest().run(b, a)
    assert swapped.effect == -result.effect


def test_the_verdict_follows_the_design() -> None:
    wins, losses = [3, 2, 4, 2, 5], [0, 1, 1, 0, 1]
    result, verdict = interleaving_verdict(wins, losses)
    assert (result.method, verdict) == ("sequential", "inconclusive")
    fixed = ExperimentDesign(goal="interleaving", method="interleaving")
    assert interleaving_verdict(wins, losses, fixed)[1] == "better"
    assert interleaving_verdict(losses, wins, fixed)[1] == "worse"
    sign = ExperimentDesign(goal="interleaving", method="interleaving", interleaving_test="sign")
    assert interleaving_verdict(wins, losses, sign)[0].method == "sign"
    assert interleaving_verdict([1], [0], fixed)[1] == "no data"


def test_inputs_and_parameters_are_validated() -> None:
    with pytest.raises(InvalidInput, match="'n_resamples' parameter of InterleavingTest"):
        InterleavingTest(n_resamples=10)
    with pytest.raises(InvalidInput, match="'test' parameter of InterleavingTest"):
        InterleavingTest(test="z")
    with pytest.raises(InvalidInput, match="'test' parameter of preference_test"):
        preference_test([1], [0], test="wilcoxon")
    with pytest.raises(InvalidInput, match=r"Got -1 at losses\[1\] instead"):
        unit_preferences([1, 1], [0, -1])
    with pytest.raises(InvalidInput, match=r"one entry per unit each\. Got 2 and 1"):
        unit_preferences([1, 1], [0])
    with pytest.raises(InvalidInput, match="'wins' argument of unit_preferences"):
        unit_preferences("12", [1, 2])
    with pytest.raises(InvalidInput, match="same units and impressions"):
        InterleavingTest().run([[1, 0]], [[1]])
    with pytest.raises(InvalidInput, match=r"Got \[-1\] at a\[0\] instead"):
        InterleavingTest().run([[-1]], [[1]])
    with pytest.raises(InvalidInput, match="'b' argument of InterleavingTest"):
        InterleavingTest().run([[1]], "1")
