"""Summary and RatioSummary: the sufficient statistics of one arm, as SQL returns them."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np

from champion.errors import InvalidInput

__all__ = ["Moments", "RatioSummary", "Summary"]


@dataclass(frozen=True)
class Summary:
    """One arm's ``n``, ``sum`` and ``sum_squares``: what a SQL ``GROUP BY`` returns.

    Means, proportions and their variances follow from these three numbers, so the database
    never ships rows to Python. A proportion is the summary of 0/1 values, where
    ``sum_squares == sum`` (see :meth:`from_counts`).

    Examples
    --------
    >>> arm = Summary.from_values([1.0, 2.0, 4.0])
    >>> arm
    Summary(n=3, sum=7.0, sum_squares=21.0)
    >>> round(arm.mean, 4), round(arm.variance, 4)
    (2.3333, 2.3333)
    >>> Summary.from_counts(14, 28).mean
    0.5
    """

    n: int
    sum: float
    sum_squares: float

    def __post_init__(self) -> None:
        if isinstance(self.n, bool) or not isinstance(self.n, int | np.integer) or self.n < 0:
            raise InvalidInput(
                f"The 'n' field of Summary must be an int of at least 0. Got {self.n!r} instead."
            )
        for name in ("sum", "sum_squares"):
            value = getattr(self, name)
            if isinstance(value, bool) or not math.isfinite(float(value)):
                raise InvalidInput(
                    f"The {name!r} field of Summary must be a finite number. Got {value!r} instead."
                )
        if self.sum_squares < 0:
            raise InvalidInput(
                "The 'sum_squares' field of Summary must be at least 0. "
                f"Got {self.sum_squares!r} instead."
            )

    @classmethod
    def from_values(cls, values: Iterable[float]) -> Summary:
        """Summarise raw per-unit values."""
        array = np.asarray(list(values), dtype=np.float64)
        return cls(int(array.size), float(array.sum()), float(np.square(array).sum()))

    @classmethod
    def from_counts(cls, successes: int, trials: int) -> Summary:
        """Summarise ``successes`` out of ``trials`` 0/1 outcomes."""
        if not 0 <= successes <= trials:
            raise InvalidInput(
                "The 'successes' argument of Summary.from_counts must be an int in the range "
                f"[0, trials={trials!r}]. Got {successes!r} instead."
            )
        return cls(int(trials), float(successes), float(successes))

    @property
    def mean(self) -> float:
        """The arm's mean (nan when ``n`` is 0)."""
        return self.sum / self.n if self.n else math.nan

    @property
    def variance(self) -> float:
        """The sample variance with ``n - 1`` in the denominator (nan when ``n`` < 2).

        Rounding can make ``sum_squares - sum**2 / n`` slightly negative; it is clipped at 0.
        """
        if self.n < 2:
            return math.nan
        return max(self.sum_squares - self.sum**2 / self.n, 0.0) / (self.n - 1)

    @property
    def proportion_variance(self) -> float:
        """``p (1 - p)``: the variance of one 0/1 outcome, as gbstats uses for proportions."""
        return self.mean * (1.0 - self.mean)


@dataclass(frozen=True)
class RatioSummary:
    """A ratio metric over ``n`` units: ``R = sum(x) / sum(y)``, e.g. clicks per impression.

    Six sums per arm (``Σx, Σy, Σx², Σy², Σxy``) are all the delta method needs, so the
    per-unit numerators and denominators never leave the database. ``mean`` is the ratio and
    ``variance`` the per-unit variance of its linearisation,
    ``(s_x² - 2 R s_xy + R² s_y²) / ȳ²`` with sample (``n - 1``) moments, so that
    ``variance / n`` is the delta-method variance of ``R``. With every ``y == 1`` these are
    the mean and sample variance of ``x``: the tests that take a :class:`Summary` take a
    RatioSummary unchanged.

    References
    ----------
    Deng, Knoblich and Lu (2018). Applying the Delta Method in Metric Analytics. KDD.

    Examples
    --------
    >>> ctr = RatioSummary.from_values([1, 0, 3], [10, 5, 15])
    >>> round(ctr.mean, 4), ctr.n
    (0.1333, 3)
    >>> RatioSummary.from_values([1.0, 2.0, 4.0], [1, 1, 1]).variance == Summary.from_values(
    ...     [1.0, 2.0, 4.0]).variance
    True
    """

    n: int
    sum_x: float
    sum_y: float
    sum_xx: float
    sum_yy: float
    sum_xy: float

    def __post_init__(self) -> None:
        if isinstance(self.n, bool) or not isinstance(self.n, int | np.integer) or self.n < 0:
            raise InvalidInput(
                "The 'n' field of RatioSummary must be an int of at least 0. "
                f"Got {self.n!r} instead."
            )
        for name in ("sum_x", "sum_y", "sum_xx", "sum_yy", "sum_xy"):
            value = getattr(self, name)
            if isinstance(value, bool) or not math.isfinite(float(value)):
                raise InvalidInput(
                    f"The {name!r} field of RatioSummary must be a finite number. "
                    f"Got {value!r} instead."
                )
        if self.sum_y < 0 or self.sum_xx < 0 or self.sum_yy < 0:
            raise InvalidInput(
                "The 'sum_y', 'sum_xx' and 'sum_yy' fields of RatioSummary must be at least 0. "
                f"Got {self.sum_y!r}, {self.sum_xx!r} and {self.sum_yy!r} instead."
            )

    @classmethod
    def from_values(cls, x: Iterable[float], y: Iterable[float]) -> RatioSummary:
        """Summarise per-unit numerators ``x`` and denominators ``y``."""
        xs = np.asarray(list(x), dtype=np.float64)
        ys = np.asarray(list(y), dtype=np.float64)
        if xs.shape != ys.shape or xs.ndim != 1:
            raise InvalidInput(
                "The 'x' and 'y' arguments of RatioSummary.from_values must be 1-D and of the "
                f"same length. Got shapes {xs.shape} and {ys.shape} instead."
            )
        return cls(
            int(xs.size),
            float(xs.sum()),
            float(ys.sum()),
            float(np.square(xs).sum()),
            float(np.square(ys).sum()),
            float((xs * ys).sum()),
        )

    def shifted(self, c: float) -> RatioSummary:
        """The summary of ``x + c y``: the ratio moves by exactly ``c``, its variance not at all.

        Testing a shifted arm tests a margin: ``b.shifted(-0.01)`` against ``a`` asks whether
        ``b`` exceeds ``a`` by more than 0.01.
        """
        return RatioSummary(
            self.n,
            self.sum_x + c * self.sum_y,
            self.sum_y,
            max(self.sum_xx + 2 * c * self.sum_xy + c * c * self.sum_yy, 0.0),
            self.sum_yy,
            self.sum_xy + c * self.sum_yy,
        )

    @property
    def mean(self) -> float:
        """The ratio ``Σx / Σy`` (nan when ``Σy`` is 0)."""
        return self.sum_x / self.sum_y if self.sum_y else math.nan

    @property
    def variance(self) -> float:
        """The per-unit variance of the linearised ratio (nan when ``n < 2`` or ``Σy`` is 0)."""
        if self.n < 2 or not self.sum_y:
            return math.nan
        n = self.n
        var_x = max(self.sum_xx - self.sum_x**2 / n, 0.0) / (n - 1)
        var_y = max(self.sum_yy - self.sum_y**2 / n, 0.0) / (n - 1)
        cov_xy = (self.sum_xy - self.sum_x * self.sum_y / n) / (n - 1)
        ratio, mean_y = self.mean, self.sum_y / n
        return max(var_x - 2.0 * ratio * cov_xy + ratio**2 * var_y, 0.0) / mean_y**2


Moments: TypeAlias = Summary | RatioSummary
"""What the mean-comparing tests take: anything with ``n``, ``mean`` and ``variance``."""
