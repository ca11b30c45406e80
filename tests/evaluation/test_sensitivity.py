"""Wrong-winner curves by a bootstrap over users, checked on outcomes with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from champion.errors import InvalidInput
from champion.evaluation.sensitivity import UserOutcomes, wrong_winner_curve


def _outcomes(n: int, seed: int, gap: float) -> UserOutcomes:
    """Heavy-tailed engagement: a few users see most impressions; B is better by ``gap``."""
    rng = np.random.default_rng(seed)
    sessions = np.minimum(np.ceil(rng.pareto(1.2, n) + 1), 300)
    shown = 10 * sessions
    propensity = rng.beta(2, 8, n)
    clicks_a = rng.binomial(shown.astype(int), propensity) * 1.0
    clicks_b = rng.binomial(shown.astype(int), np.minimum(propensity * (1 + gap), 1)) * 1.0
    decided = rng.binomial(sessions.astype(int), 0.6)
    wins = rng.binomial(decided, 0.5 + gap) * 1.0
    return UserOutcomes(clicks_a, shown, clicks_b, shown, wins, decided - wins)


def test_no_difference_means_half_the_winners_are_wrong() -> None:
    """Each user has a twin with A and B swapped: the population prefers neither."""
    one = _outcomes(250, 0, 0.0)
    twins = UserOutcomes(
        np.concatenate([one.clicks_a, one.clicks_b]),
        np.concatenate([one.shown_a, one.shown_b]),
        np.concatenate([one.clicks_b, one.clicks_a]),
        np.concatenate([one.shown_b, one.shown_a]),
        np.concatenate([one.wins, one.losses]),
        np.concatenate([one.losses, one.wins]),
    )
    curve = wrong_winner_curve(twins, [50, 500], replicates=400, seed=1)
    for rate in (*curve.interleaving, *curve.ab):
        assert rate == pytest.approx(0.5, abs=0.08)


def test_more_users_mean_fewer_wrong_winners_and_the_factor_compares_methods() -> None:
    outcomes = _outcomes(2000, 1, 0.1)
    sizes = [20, 50, 100, 200, 500, 1000, 2000, 5000]
    curve = wrong_winner_curve(outcomes, sizes, replicates=300, seed=2)
    assert curve.interleaving[0] > curve.interleaving[-1]
    assert curve.ab[0] > curve.ab[-1]
    needed = curve.users_needed("interleaving", 0.05)
    assert needed is not None
    first = next(i for i, rate in enumerate(curve.interleaving) if rate <= 0.05)
    assert sizes[max(first - 1, 0)] <= needed <= sizes[first]
    ab = curve.users_needed("ab", 0.05)
    assert curve.factor(0.05) == (None if ab is None else ab / needed)


def test_users_needed_interpolates_in_log_users() -> None:
    from champion.evaluation.sensitivity import SensitivityCurve

    curve = SensitivityCurve((100, 400), (0.15, 0.05), (0.4, 0.3), 100)
    assert curve.users_needed("interleaving", 0.10) == pytest.approx(200.0)
    assert curve.users_needed("interleaving", 0.20) == 100.0
    assert curve.users_needed("ab", 0.05) is None and curve.factor(0.05) is None


def test_a_better_a_flips_the_scoring() -> None:
    outcomes = _outcomes(800, 3, 0.15)
    right = wrong_winner_curve(outcomes, [800], replicates=200)
    wrong = wrong_winner_curve(outcomes, [800], replicates=200, better="a")
    assert right.interleaving[0] + wrong.interleaving[0] == pytest.approx(1.0, abs=0.05)


def test_inputs_are_validated() -> None:
    good = _outcomes(10, 0, 0.0)
    with pytest.raises(InvalidInput, match="'better' argument"):
        wrong_winner_curve(good, [5], better="c")
    with pytest.raises(InvalidInput, match="sizes of at least 2"):
        wrong_winner_curve(good, [1])
    with pytest.raises(InvalidInput, match="one entry per user"):
        UserOutcomes(np.ones(3), np.ones(3), np.ones(3), np.ones(3), np.ones(3), np.ones(2))
