"""The contract every StatTest keeps; plugin authors run it on their own tests."""

from __future__ import annotations

import math
from typing import Any

from champion.evaluation.stattests.base import ReferenceCase, StatResult, StatTest

__all__ = ["check_stattest"]


def check_stattest(test: StatTest, seeds: range = range(3)) -> None:
    """Check ``test`` on its ``example_arms(seed)`` for each seed.

    * ``run`` returns a StatResult whose ``method`` is a non-empty string;
    * ``p_value`` lies in [0, 1] and ``statistic`` and ``effect`` are numbers, not nan;
    * ``ci``, when given, is ordered (``lower <= upper``) and widens as ``alpha`` shrinks;
    * the result is deterministic: the same inputs give the same result;
    * swapping the arms flips the sign of the effect;
    * when the test defines ``reference_case(seed)`` (its SciPy counterpart, or a published
      test vector), its statistic, p-value, interval and chance to win agree with the
      :class:`~champion.evaluation.stattests.ReferenceCase`'s on those arms.

    Raises ``AssertionError`` naming the broken rule, the test and the values.

    Examples
    --------
    >>> import dataclasses
    >>> from champion.evaluation.stattests import WelchTest
    >>> check_stattest(WelchTest())
    >>> class OneSided(WelchTest):
    ...     def run(self, a, b, *, alpha=0.05):
    ...         result = super().run(a, b, alpha=alpha)
    ...         return dataclasses.replace(result, p_value=result.p_value / 2)
    >>> check_stattest(OneSided())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    AssertionError: welch: p_value 0.0... disagrees with scipy.stats.ttest_ind(b, a, \
equal_var=False)'s 0.0... on the reference arms of seed 0 (rtol 1e-07, atol 1e-12)
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
    reference = getattr(test, "reference_case", None)
    if reference is None:
        return
    for seed in seeds:
        case = reference(seed)
        if case is not None:
            _check_agreement(name, test, case, seed)


def _check_agreement(name: str, test: StatTest, case: ReferenceCase, seed: int) -> None:
    if not isinstance(case, ReferenceCase):
        raise AssertionError(
            f"{name}: reference_case returned {type(case).__name__}, not a ReferenceCase"
        )
    result = test.run(case.a, case.b, alpha=case.alpha)
    _check_result(name, result)
    where = f"on the reference arms of seed {seed} (rtol {case.rtol:g}, atol {case.atol:g})"
    pairs: list[tuple[str, float | None, float | None]] = [
        ("statistic", result.statistic, case.statistic),
        ("p_value", result.p_value, case.p_value),
        ("chance_to_win", result.chance_to_win, case.chance_to_win),
    ]
    if case.ci is not None:
        got = result.ci or (None, None)
        pairs += [("ci lower", got[0], case.ci[0]), ("ci upper", got[1], case.ci[1])]
    for field, got_value, expected in pairs:
        if expected is None:
            continue
        agrees = got_value is not None and math.isclose(
            got_value, expected, rel_tol=case.rtol, abs_tol=case.atol
        )
        if not agrees:  # raised, not asserted: the message is the whole report, even under -O
            raise AssertionError(
                f"{name}: {field} {got_value!r} disagrees with {case.reference}'s {expected!r} "
                f"{where}"
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
