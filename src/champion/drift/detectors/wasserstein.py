"""Wasserstein distance normed by the reference's standard deviation."""

from __future__ import annotations

from typing import Any, ClassVar

from champion.drift.detectors.base import DetectorSpec, DriftResult, check_threshold, window_for
from champion.drift.profile import ColumnKind, ColumnProfile

__all__ = ["WASSERSTEIN", "WassersteinDetector"]

MIN_NORM = 0.001
"""The norm for a (near) constant reference, as Evidently does."""


class WassersteinDetector:
    """Earth mover's distance in units of the reference's standard deviation.

    ``scipy.stats.wasserstein_distance(reference, current) / max(std(reference), 0.001)`` with
    the population standard deviation, as Evidently's ``wasserstein`` test; drift when
    ``>= threshold`` (0.1: the current distribution moved by a tenth of a standard
    deviation). With a sketched reference its 1,000 quantiles at ``(i + 0.5) / 1000`` stand
    for the reference, each with weight 1/1000; the error is the distance between the true
    quantile function and that step function, small except in very heavy tails.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> reference = ColumnProfile.from_values("x", rng.normal(size=5000))
    >>> round(WassersteinDetector().compare(reference, rng.normal(0.3, size=5000)).statistic, 2)
    0.32

    References
    ----------
    Vaserstein, L. N. (1969). Markov processes over denumerable products of spaces.
    """

    name: ClassVar[str] = "wasserstein"
    column_kinds: ClassVar[frozenset[ColumnKind]] = frozenset({"numeric"})

    def __init__(self, threshold: float = 0.1) -> None:
        self.threshold = check_threshold("WassersteinDetector", threshold, p_value=False)

    def compare(self, reference: ColumnProfile, current: Any) -> DriftResult:
        from scipy import stats

        window = window_for(self.name, self.column_kinds, reference, current)
        assert window.sample is not None  # window_for keeps a sample of a numeric column
        norm = max(reference.std or 0.0, MIN_NORM)
        value = float(stats.wasserstein_distance(reference.support(), window.sample)) / norm
        return DriftResult(value, None, self.threshold, value >= self.threshold, self.name)


WASSERSTEIN = DetectorSpec(
    name=WassersteinDetector.name,
    display_name="Wasserstein distance (normed)",
    column_kinds=WassersteinDetector.column_kinds,
    default_threshold=0.1,
    has_p_value=False,
    factory=WassersteinDetector,
)
