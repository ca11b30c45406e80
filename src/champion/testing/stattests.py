"""The contract every StatTest keeps; plugin authors run it on their own tests."""

from __future__ import annotations

import math
from typing import Any

from champion.evaluation.stattests.base import StatResult, StatTest

__all__ = ["check_stattest"]


def check_stattest(test: StatTest, seeds: range = range(3)) -> None:
    """Check ``test`` on its ``example_arms(seed)`` for each seed.

    * ``run`` returns a StatResult whose ``method`` is a non-empty string;
    * ``p_value`` lies in [0, 1] and ``statistic`` and ``effect`` are numbers, not nan;
    * ``ci``, when given, is ordered (``lower <= upper``) and widens as ``alpha`` shrinks;
    * the result is deterministic: the same inputs give the same result;
    * swapping the arms flips the sign of the effect.

    Raises ``AssertionError`` naming the broken rule.
    """
    name = getattr(test, "name", type(test).__name__)
    for seed in seeds:
        a, b = test.example_arms(seed)
        result = test.run(a, b, alpha=0.05)
        _check_result(name, result)
        again = test.run(a, b, alpha=0.05)
        assert _same(result, again), f"{name}: two runs on the same input gave {result} and {again}"
        wider = test.run(a, b, alpha=0.01)
        if result.ci is not None and wider.ci is not None:
            assert wider.ci[0] <= result.ci[0] + 1e-12 and result.ci[1] <= wider.ci[1] + 1e-12, (
                f"{name}: the 99% interval {wider.ci} does not contain the 95% one {result.ci}"
            )
        swapped = test.run(b, a, alpha=0.05)
        _check_result(name, swapped)
        assert _sign(result.effect) == -_sign(swapped.effect), (
            f"{name}: swapping the arms turned effect {result.effect} into {swapped.effect}"
        )


def _check_result(name: str, result: Any) -> None:
    assert isinstance(result, StatResult), f"{name}: run returned {type(result).__name__}"
    assert isinstance(result.method, str) and result.method, f"{name}: empty method"
    assert 0.0 <= result.p_value <= 1.0, f"{name}: p-value {result.p_value} outside [0, 1]"
    assert not math.isnan(result.statistic), f"{name}: statistic is nan"
    assert not math.isnan(result.effect), f"{name}: effect is nan"
    if result.ci is not None:
        lower, upper = result.ci
        assert lower <= upper, f"{name}: interval {result.ci} is not ordered"


def _same(first: StatResult, second: StatResult) -> bool:
    return repr(first) == repr(second)


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)
