"""Summary: the sufficient statistics of one arm (count, sum, sum of squares)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from champion.errors import InvalidInput

__all__ = ["Summary"]


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
