"""Chi-square test of homogeneity on the 2 x k table of category counts."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from champion.drift.detectors.base import DetectorSpec, DriftResult, check_threshold, window_for
from champion.drift.profile import ColumnKind, ColumnProfile

__all__ = ["CHI2", "Chi2Detector"]


class Chi2Detector:
    """Chi-square test that reference and current share one category distribution.

    A two-sample test of homogeneity: ``scipy.stats.chi2_contingency`` on the 2 x k table
    whose rows are the reference and current counts of every category seen in either (a
    category new in the current window is a column with a zero reference count). This is not
    a goodness-of-fit test against the reference shares, which would treat the reference as
    known exactly and over-alarm when it is small. With two categories SciPy applies Yates'
    correction (``correction=True``, its default). Drift when ``p < threshold``. Categorical
    profiles are always exact, so nothing is approximated.

    Examples
    --------
    >>> reference = ColumnProfile.from_values("plan", ["a"] * 60 + ["b"] * 40)
    >>> result = Chi2Detector().compare(reference, ["a"] * 30 + ["b"] * 70)
    >>> result.drifted, result.p_value < 1e-4
    (True, True)

    References
    ----------
    Pearson, K. (1900). On the criterion that a given system of deviations ... .
    """

    name: ClassVar[str] = "chi2"
    column_kinds: ClassVar[frozenset[ColumnKind]] = frozenset({"categorical"})

    def __init__(self, threshold: float = 0.05, correction: bool = True) -> None:
        self.threshold = check_threshold("Chi2Detector", threshold, p_value=True)
        self.correction = correction

    def compare(self, reference: ColumnProfile, current: Any) -> DriftResult:
        from scipy import stats

        window = window_for(self.name, self.column_kinds, reference, current)
        ref = reference.frequencies or {}
        cur = window.frequencies or {}
        keys = sorted(set(ref) | set(cur))
        if len(keys) < 2:
            return DriftResult(0.0, 1.0, self.threshold, False, self.name)
        table = np.array([[ref.get(k, 0) for k in keys], [cur.get(k, 0) for k in keys]])
        result = stats.chi2_contingency(table, correction=self.correction)
        p_value = float(result.pvalue)
        statistic = float(result.statistic)
        return DriftResult(statistic, p_value, self.threshold, p_value < self.threshold, self.name)


CHI2 = DetectorSpec(
    name=Chi2Detector.name,
    display_name="chi-square p-value (homogeneity)",
    column_kinds=Chi2Detector.column_kinds,
    default_threshold=0.05,
    has_p_value=True,
    factory=Chi2Detector,
)
