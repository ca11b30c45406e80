"""Sample sizes: statsmodels' values for the fixed-horizon test, and the power the
sequential plan promises."""

from __future__ import annotations

import math

import numpy as np
import pytest

from champion.evaluation.planning import sample_size, sequential_sample_size
from champion.evaluation.stattests import always_valid


@pytest.mark.parametrize(
    ("effect_size", "power", "normal", "t_test"),
    [
        # statsmodels 0.15: NormalIndPower().solve_power and tt_ind_solve_power, ratio 1.
        (0.1, 0.8, 1569.7721019023288, 1570.7330430520037),
        (0.2, 0.9, 525.3709705479278, 526.3331885760532),
        (0.05, 0.8, 6279.088407460959, 6280.048916291407),
        (0.1, 0.975, 3073.1670014865767, 3074.1277177452607),
    ],
)
def test_the_fixed_horizon_sample_is_statsmodels_normal_ind_power(
    effect_size: float, power: float, normal: float, t_test: float
) -> None:
    # The same standardised effect in any units: mde 2 with sd 20 is effect size 0.1.
    units = sample_size(effect_size * 20.0, 20.0, alpha=0.05, power=power)
    assert units == pytest.approx(normal, rel=1e-9)
    assert math.ceil(t_test) - math.ceil(units) <= 1  # the t-test needs at most one more


def test_the_sequential_plan_reaches_its_power_and_needs_more_than_one_look() -> None:
    """At the planned n the always-valid interval excludes 0 in 0.80 of 2000 simulated
    estimates (s.e. 0.009)."""
    n = sequential_sample_size(0.1, 1.0, alpha=0.05, power=0.8, tuning=5000)
    assert n is not None and n > sample_size(0.1, 1.0, alpha=0.05, power=0.8)
    rng = np.random.default_rng(2)
    se2 = 2 / n
    found = 0
    for estimate in rng.normal(0.1, math.sqrt(se2), 2000):
        ci = always_valid(float(estimate), se2, 2 * n, alpha=0.05, tuning_n=5000).ci
        found += ci is not None and ci[0] > 0
    assert found / 2000 == pytest.approx(0.8, abs=0.02)
    smaller = sequential_sample_size(0.1, 1.0, alpha=0.05, power=0.8, tuning=2 * n)
    assert smaller is not None and smaller < n  # tuned near the sample, the interval is tighter
