from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pytest
from scipy import stats

from champion.errors import Conflict, UnknownName
from champion.evaluation import ReferenceCase, StatResult, StatTest, Summary, default_stattests
from champion.evaluation.stattests import InterleavingTest, WelchTest
from champion.testing import check_stattest

STATTESTS = default_stattests()

WITHOUT_SCIPY_COUNTERPART = {
    "paired_bootstrap": "resamples rows with its own generator: no SciPy function draws the same",
    "sequential": "the mSPRT is not in SciPy; tests/evaluation/test_sequential.py checks it",
}
"""Built-in tests that define no ``reference_case``, and why."""


def _built(name: str) -> StatTest:
    factory = STATTESTS.get(name)
    test: StatTest = factory(**getattr(factory, "example_params", {}))
    return test


@pytest.mark.parametrize("name", STATTESTS.names())
def test_every_stattest_keeps_the_contract(name: str) -> None:
    test = _built(name)
    assert test.name == name
    check_stattest(test)


@pytest.mark.parametrize("name", STATTESTS.names())
def test_every_stattest_with_a_scipy_counterpart_is_checked_against_it(name: str) -> None:
    test = _built(name)
    reference = getattr(test, "reference_case", None)
    if name in WITHOUT_SCIPY_COUNTERPART:
        assert reference is None, f"{name} has a reference now: drop it from the list"
        return
    assert reference is not None, f"{name} defines no reference_case"
    case = reference(0)
    assert isinstance(case, ReferenceCase), name
    compared = [case.statistic, case.p_value, case.ci, case.chance_to_win]
    assert any(value is not None for value in compared), f"{name}: its reference compares nothing"


@pytest.mark.parametrize("variant", ["t", "sign"])
def test_every_interleaving_variant_agrees_with_its_scipy_test(variant: str) -> None:
    # The registered entry checks the bootstrap (its example parameters); the other
    # fixed-horizon variants have SciPy counterparts of their own.
    check_stattest(InterleavingTest(test=variant))


def test_every_registered_class_documents_an_example() -> None:
    for name in STATTESTS.names():
        doc = STATTESTS.get(name).__doc__ or ""
        assert "Examples" in doc and "References" in doc, name


class _OneSidedWelch:
    """Breaks the contract: the effect ignores which arm is which."""

    name: ClassVar[str] = "broken"

    def run(self, a: Any, b: Any, *, alpha: float = 0.05) -> StatResult:
        result = WelchTest().run(a, b, alpha=alpha)
        return StatResult(0.0, result.p_value, result.ci, abs(result.effect), "broken")

    def example_arms(self, seed: int) -> tuple[Summary, Summary]:
        return WelchTest().example_arms(seed)


def test_the_contract_catches_an_effect_that_ignores_the_arms() -> None:
    broken: StatTest = _OneSidedWelch()
    with pytest.raises(AssertionError, match="swapping the arms"):
        check_stattest(broken)


class _PooledWelch(WelchTest):
    """Student's t with a pooled variance, under Welch's name: right on equal arms only."""

    def run(self, a: Any, b: Any, *, alpha: float = 0.05) -> StatResult:
        n_a, n_b = a.n, b.n
        pooled = ((n_a - 1) * a.variance + (n_b - 1) * b.variance) / (n_a + n_b - 2)
        se = math.sqrt(pooled * (1 / n_a + 1 / n_b))
        effect = b.mean - a.mean
        df = n_a + n_b - 2
        p_value = float(2 * stats.t.sf(abs(effect / se), df))
        half = float(stats.t.ppf(1 - alpha / 2, df)) * se
        return StatResult(effect / se, p_value, (effect - half, effect + half), effect, "welch")


def test_a_stattest_that_disagrees_with_scipy_fails_naming_the_test_and_the_values() -> None:
    # Its own contract holds (deterministic, ordered intervals, the sign flips with the arms):
    # only the comparison with SciPy's Welch test can see the pooled variance.
    with pytest.raises(AssertionError) as caught:
        check_stattest(_PooledWelch())
    message = str(caught.value)
    assert message.startswith("welch: statistic ")
    assert "disagrees with scipy.stats.ttest_ind(b, a, equal_var=False)'s " in message
    assert "seed 0" in message


class _HalvedPValue(WelchTest):
    def run(self, a: Any, b: Any, *, alpha: float = 0.05) -> StatResult:
        result = super().run(a, b, alpha=alpha)
        return dataclasses.replace(result, p_value=result.p_value / 2)


def test_a_one_sided_p_value_fails_the_agreement() -> None:
    with pytest.raises(AssertionError, match=r"welch: p_value .* disagrees with scipy"):
        check_stattest(_HalvedPValue())


Arrays = npt.NDArray[np.float64]


class _MedianShiftTest:
    """A third-party test (Mann-Whitney U) with its SciPy counterpart; ``exact`` breaks it."""

    name: ClassVar[str] = "median_shift"

    def __init__(self, one_sided: bool = False) -> None:
        self.one_sided = one_sided

    def run(self, a: Arrays, b: Arrays, *, alpha: float = 0.05) -> StatResult:
        u = float(np.sum(np.greater.outer(b, a)) + 0.5 * np.sum(np.equal.outer(b, a)))
        n_a, n_b = len(a), len(b)
        mean, sd = n_a * n_b / 2, math.sqrt(n_a * n_b * (n_a + n_b + 1) / 12)
        z = (abs(u - mean) - 0.5) / sd  # continuity correction, as SciPy's asymptotic method
        tails = 1 if self.one_sided else 2
        p_value = min(1.0, float(tails * stats.norm.sf(z)))
        effect = float(np.median(b) - np.median(a))
        return StatResult(u, p_value, None, effect, "median_shift", alpha)

    def example_arms(self, seed: int) -> tuple[Arrays, Arrays]:
        rng = np.random.default_rng(seed)
        return rng.normal(0.0, 1.0, 80), rng.normal(0.4, 1.0, 90)

    def reference_case(self, seed: int) -> ReferenceCase:
        a, b = self.example_arms(seed)
        scipy = stats.mannwhitneyu(b, a, method="asymptotic")
        return ReferenceCase(
            a,
            b,
            "scipy.stats.mannwhitneyu(b, a, method='asymptotic')",
            statistic=float(scipy.statistic),
            p_value=float(scipy.pvalue),
        )


def test_a_plugin_stattest_gets_the_same_scipy_check() -> None:
    check_stattest(_MedianShiftTest())
    wrong = r"median_shift: p_value .* disagrees with scipy\.stats\.mannwhitneyu"
    with pytest.raises(AssertionError, match=wrong):
        check_stattest(_MedianShiftTest(one_sided=True))


def test_registry_refuses_duplicates_and_lists_known_names() -> None:
    tests = default_stattests()
    with pytest.raises(Conflict, match="'welch' is already registered"):
        tests.register("welch", WelchTest)
    with pytest.raises(UnknownName, match="Known stattests: bayesian, cuped"):
        tests.get("welsh")
