"""The StatTest protocol and the StatResult every statistical test returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

__all__ = ["ReferenceCase", "StatResult", "StatTest", "format_p_value"]


def format_p_value(p_value: float | None, *, equals: bool = False) -> str:
    """A p-value for people: two significant digits, ``< 0.0001`` below that, never ``0``.

    With ``equals`` a shown value reads ``= 0.043``, to follow a ``p`` in a sentence.

    Examples
    --------
    >>> format_p_value(0.04321), format_p_value(3e-12), format_p_value(None)
    ('0.043', '< 0.0001', '-')
    >>> f"p {format_p_value(0.5, equals=True)}, p {format_p_value(0.0, equals=True)}"
    'p = 0.5, p < 0.0001'
    """
    if p_value is None:
        return "-"
    if p_value < 1e-4:
        return "< 0.0001"
    return f"= {p_value:.2g}" if equals else f"{p_value:.2g}"


@dataclass(frozen=True)
class StatResult:
    """The outcome of comparing arm ``a`` (champion) with arm ``b`` (challenger).

    ``effect`` is oriented so that a positive value favours ``b`` and ``ci`` is its
    two-sided ``1 - alpha`` interval (None when the test has none). ``enough_data`` is False
    when the test refuses a verdict (for example SRM under 8 units per arm); ``significant``
    is then None.
    """

    statistic: float
    p_value: float
    ci: tuple[float, float] | None
    effect: float
    method: str
    alpha: float = 0.05
    relative: bool = False
    """True when ``effect`` and ``ci`` are relative (``mean_b / mean_a - 1``)."""
    df: float | None = None
    """Degrees of freedom of a t reference distribution, if one was used."""
    chance_to_win: float | None = None
    """Posterior probability that ``b`` beats ``a`` (Bayesian tests only)."""
    enough_data: bool = True

    @property
    def significant(self) -> bool | None:
        """``p_value < alpha``, or None when there is not enough data for a verdict."""
        return self.p_value < self.alpha if self.enough_data else None


@dataclass(frozen=True)
class ReferenceCase:
    """Arms for ``run`` and what a reference gives on the same data: the agreement to check.

    ``reference`` names the SciPy function (or the published test vector) the values come
    from, as the contract check's message shows it. :func:`champion.testing.check_stattest`
    runs the test on ``a`` and ``b`` at ``alpha`` and compares each value given here (a
    None is not compared) within ``rtol``/``atol`` (as :func:`math.isclose`).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import stats
    >>> from champion.evaluation.stattests import Summary, WelchTest
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.normal(0.0, 1.0, 50), rng.normal(0.5, 2.0, 40)
    >>> scipy = stats.ttest_ind(b, a, equal_var=False)
    >>> case = ReferenceCase(Summary.from_values(a), Summary.from_values(b),
    ...                      "scipy.stats.ttest_ind", p_value=float(scipy.pvalue))
    >>> result = WelchTest().run(case.a, case.b)
    >>> abs(result.p_value - case.p_value) < 1e-9
    True
    """

    a: Any
    b: Any
    reference: str
    statistic: float | None = None
    p_value: float | None = None
    ci: tuple[float, float] | None = None
    chance_to_win: float | None = None
    alpha: float = 0.05
    rtol: float = 1e-7
    atol: float = 1e-12


class StatTest(Protocol):
    """A statistical comparison of two arms.

    Implementations store their parameters in the constructor (validated there, with
    :class:`~champion.errors.InvalidInput` naming the parameter), read no clock, do no I/O and
    draw randomness only from a seeded ``numpy.random.Generator``, so ``run`` is a pure
    function of its inputs. Each docstring names the SciPy function or the published
    reference the test agrees with; a test that has one also defines
    ``reference_case(seed) -> ReferenceCase | None`` (None for parameters without a
    counterpart), and :func:`champion.testing.check_stattest` checks the agreement.
    """

    name: ClassVar[str]

    def run(self, a: Any, b: Any, *, alpha: float = 0.05) -> StatResult:
        """Compare ``a`` (champion) with ``b`` (challenger) at level ``alpha``."""
        ...

    def example_arms(self, seed: int) -> tuple[Any, Any]:
        """Typical inputs for the contract checks, generated from ``seed``."""
        ...
