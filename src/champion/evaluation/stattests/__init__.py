"""Statistical tests for experiments, registered by name.

Every test implements :class:`StatTest` (``run(a, b, *, alpha) -> StatResult``) and keeps
the contract in :func:`champion.testing.check_stattest`. Third-party tests register through the
``champion.stattests`` entry-point group.
"""

from __future__ import annotations

from champion.evaluation.stattests.adjusted import AdjustedArm, CovariateSums, cuped_arms
from champion.evaluation.stattests.base import (
    ReferenceCase,
    StatResult,
    StatTest,
    format_p_value,
)
from champion.evaluation.stattests.bayesian import BayesianTest
from champion.evaluation.stattests.cuped import CupedTest, cuped_theta
from champion.evaluation.stattests.delta import DeltaMethodTest, ratio_and_variance
from champion.evaluation.stattests.interleaving import (
    INTERLEAVING_TESTS,
    InterleavingTest,
    interleaving_delta,
    preference_test,
    unit_preferences,
)
from champion.evaluation.stattests.multiple import benjamini_hochberg, holm
from champion.evaluation.stattests.paired import McNemarTest, PairedBootstrapTest
from champion.evaluation.stattests.proportions import ProportionsTest
from champion.evaluation.stattests.sequential import SequentialTest, always_valid
from champion.evaluation.stattests.srm import SrmTest
from champion.evaluation.stattests.summary import Moments, RatioSummary, Summary
from champion.evaluation.stattests.welch import WelchTest
from champion.plugins import Registry

__all__ = [
    "INTERLEAVING_TESTS",
    "AdjustedArm",
    "BayesianTest",
    "CovariateSums",
    "CupedTest",
    "DeltaMethodTest",
    "InterleavingTest",
    "McNemarTest",
    "Moments",
    "PairedBootstrapTest",
    "ProportionsTest",
    "RatioSummary",
    "ReferenceCase",
    "SequentialTest",
    "SrmTest",
    "StatResult",
    "StatTest",
    "Summary",
    "WelchTest",
    "always_valid",
    "benjamini_hochberg",
    "cuped_arms",
    "cuped_theta",
    "default_stattests",
    "format_p_value",
    "holm",
    "interleaving_delta",
    "preference_test",
    "ratio_and_variance",
    "unit_preferences",
]

_BUILT_IN: tuple[type[StatTest], ...] = (
    BayesianTest,
    CupedTest,
    DeltaMethodTest,
    InterleavingTest,
    McNemarTest,
    PairedBootstrapTest,
    ProportionsTest,
    SequentialTest,
    SrmTest,
    WelchTest,
)


def default_stattests() -> Registry[type[StatTest]]:
    """A fresh registry of the built-in tests and those from ``champion.stattests``.

    Entries are classes; build one with its parameters, e.g. ``WelchTest(relative=True)``.

    Examples
    --------
    >>> tests = default_stattests()
    >>> tests.get("welch").__name__
    'WelchTest'
    >>> tests.get("welsh")
    Traceback (most recent call last):
    ...
    champion.errors.UnknownName: Unknown stattest 'welsh'. Known stattests: bayesian, cuped, \
delta, interleaving, mcnemar, paired_bootstrap, proportions, sequential, srm, welch.
    """
    tests: Registry[type[StatTest]] = Registry("stattest", "stattests", "champion.stattests")
    for test in _BUILT_IN:
        tests.register(test.name, test)
    return tests
