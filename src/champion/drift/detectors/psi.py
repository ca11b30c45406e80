"""Population stability index."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from champion.drift.detectors.base import (
    DetectorSpec,
    DriftResult,
    binned_shares,
    check_threshold,
    window_for,
)
from champion.drift.profile import ColumnKind, ColumnProfile

__all__ = ["PSI", "PSI_FLOOR", "PsiDetector", "psi_band"]

PSI_FLOOR = 1e-4
"""A bin's share of zero is replaced by this (not renormalised) so the log stays finite."""


def psi_band(value: float) -> str:
    """The customary reading: ``stable`` below 0.1, ``moderate`` to 0.25, ``significant`` above.

    >>> psi_band(0.05), psi_band(0.1), psi_band(0.3)
    ('stable', 'moderate', 'significant')
    """
    if value < 0.1:
        return "stable"
    return "moderate" if value < 0.25 else "significant"


class PsiDetector:
    """Population stability index ``sum((c - r) * ln(c / r))``; drift when ``>= threshold``.

    Numeric columns are binned on the reference's deciles, fixed when the profile was built
    (so a sketched reference is binned exactly); categorical columns use every category seen
    in either sample. Shares of zero are floored at ``PSI_FLOOR`` (1e-4). The default
    threshold 0.1 is the start of the ``moderate`` band (see ``psi_band``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> reference = ColumnProfile.from_values("x", rng.normal(size=5000))
    >>> result = PsiDetector().compare(reference, rng.normal(0.4, size=5000))
    >>> result.drifted, psi_band(result.statistic)
    (True, 'moderate')

    References
    ----------
    Yurdakul, B. (2018). Statistical properties of population stability index.
    """

    name: ClassVar[str] = "psi"
    column_kinds: ClassVar[frozenset[ColumnKind]] = frozenset({"numeric", "categorical"})

    def __init__(self, threshold: float = 0.1) -> None:
        self.threshold = check_threshold("PsiDetector", threshold, p_value=False)

    def compare(self, reference: ColumnProfile, current: Any) -> DriftResult:
        window = window_for(self.name, self.column_kinds, reference, current)
        ref, cur = binned_shares(reference, window)
        ref = np.where(ref == 0, PSI_FLOOR, ref)
        cur = np.where(cur == 0, PSI_FLOOR, cur)
        value = float(np.sum((cur - ref) * np.log(cur / ref)))
        return DriftResult(value, None, self.threshold, value >= self.threshold, self.name)


PSI = DetectorSpec(
    name=PsiDetector.name,
    display_name="population stability index",
    column_kinds=PsiDetector.column_kinds,
    default_threshold=0.1,
    has_p_value=False,
    factory=PsiDetector,
)
