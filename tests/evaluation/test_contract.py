from __future__ import annotations

from typing import Any, ClassVar

import pytest

from champion.errors import Conflict, UnknownName
from champion.evaluation import StatResult, StatTest, Summary, default_stattests
from champion.evaluation.stattests import WelchTest
from champion.testing import check_stattest

STATTESTS = default_stattests()


@pytest.mark.parametrize("name", STATTESTS.names())
def test_every_stattest_keeps_the_contract(name: str) -> None:
    factory = STATTESTS.get(name)
    test = factory(**getattr(factory, "example_params", {}))
    assert test.name == name
    check_stattest(test)


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


def test_registry_refuses_duplicates_and_lists_known_names() -> None:
    tests = default_stattests()
    with pytest.raises(Conflict, match="'welch' is already registered"):
        tests.register("welch", WelchTest)
    with pytest.raises(UnknownName, match="Known stattests: bayesian, cuped"):
        tests.get("welsh")
