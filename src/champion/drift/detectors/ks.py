"""Two-sample Kolmogorov-Smirnov test."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from champion.drift.detectors.base import DetectorSpec, DriftResult, check_threshold, window_for
from champion.drift.profile import ColumnKind, ColumnProfile, FloatArray

__all__ = ["KS", "KsDetector"]


class KsDetector:
    """Two-sample Kolmogorov-Smirnov test on a numeric column; drift when ``p < threshold``.

    With an exact reference this is ``scipy.stats.ks_2samp(reference, current)`` (its
    default ``method='auto'``), to the last digit. With a sketched reference (more than
    10,000 values) the reference CDF is interpolated between its 1,000 quantiles, so the
    statistic is off by at most about 1/1000, and the p-value is SciPy's asymptotic one
    (``scipy.stats.kstwo`` at ``round(n * m / (n + m))``, as ``ks_2samp(method='asymp')``) for
    the full reference size ``n`` and current size ``m``. When the current window was
    subsampled, ``m`` is the sample's size.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> reference = ColumnProfile.from_values("x", rng.normal(size=500))
    >>> KsDetector().compare(reference, rng.normal(1.0, size=500)).drifted
    True

    References
    ----------
    Hodges, J. L. (1958). The significance probability of the Smirnov two-sample test.
    """

    name: ClassVar[str] = "ks"
    column_kinds: ClassVar[frozenset[ColumnKind]] = frozenset({"numeric"})

    def __init__(self, threshold: float = 0.05) -> None:
        self.threshold = check_threshold("KsDetector", threshold, p_value=True)

    def compare(self, reference: ColumnProfile, current: Any) -> DriftResult:
        from scipy import stats

        window = window_for(self.name, self.column_kinds, reference, current)
        assert window.sample is not None
        if reference.values is not None:
            result = stats.ks_2samp(reference.values, window.sample)
            statistic, p_value = float(result.statistic), float(result.pvalue)
        else:
            statistic = _sketch_statistic(reference, window.sample)
            n, m = reference.n_values, len(window.sample)
            p_value = float(stats.kstwo.sf(statistic, np.round(n * m / (n + m))))
        p_value = min(max(p_value, 0.0), 1.0)
        return DriftResult(statistic, p_value, self.threshold, p_value < self.threshold, self.name)


def _sketch_statistic(reference: ColumnProfile, current: FloatArray) -> float:
    # Between consecutive points of the union, the current ECDF is flat and the interpolated
    # reference CDF is linear, so the supremum is at a point or at its left limit.
    points = np.concatenate([current, reference.support()])
    m = len(current)
    right = reference.cdf(points, "right") - np.searchsorted(current, points, "right") / m
    left = reference.cdf(points, "left") - np.searchsorted(current, points, "left") / m
    return float(max(np.abs(right).max(), np.abs(left).max()))


KS = DetectorSpec(
    name=KsDetector.name,
    display_name="Kolmogorov-Smirnov p-value",
    column_kinds=KsDetector.column_kinds,
    default_threshold=0.05,
    has_p_value=True,
    factory=KsDetector,
)
