"""Jensen-Shannon distance."""

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

__all__ = ["JENSEN_SHANNON", "JensenShannonDetector"]


class JensenShannonDetector:
    """Jensen-Shannon distance (natural log) between the shares; drift when ``>= threshold``.

    ``scipy.spatial.distance.jensenshannon(reference_shares, current_shares)``, on the same
    support as PSI: the reference deciles for numeric columns (exact even for a sketched
    reference), every category seen in either sample for categorical ones. No floor is
    needed: the distance is finite with empty bins. It lies in [0, sqrt(ln 2)].

    Examples
    --------
    >>> reference = ColumnProfile.from_values("plan", ["a"] * 50 + ["b"] * 50)
    >>> round(JensenShannonDetector().compare(reference, ["a"] * 100).statistic, 4)
    0.4645
    """

    name: ClassVar[str] = "jensen_shannon"
    column_kinds: ClassVar[frozenset[ColumnKind]] = frozenset({"numeric", "categorical"})

    def __init__(self, threshold: float = 0.1) -> None:
        self.threshold = check_threshold("JensenShannonDetector", threshold, p_value=False)

    def compare(self, reference: ColumnProfile, current: Any) -> DriftResult:
        from scipy.spatial import distance

        window = window_for(self.name, self.column_kinds, reference, current)
        ref, cur = binned_shares(reference, window)
        value = float(np.nan_to_num(distance.jensenshannon(ref, cur)))
        return DriftResult(value, None, self.threshold, value >= self.threshold, self.name)


JENSEN_SHANNON = DetectorSpec(
    name=JensenShannonDetector.name,
    display_name="Jensen-Shannon distance",
    column_kinds=JensenShannonDetector.column_kinds,
    default_threshold=0.1,
    has_p_value=False,
    factory=JensenShannonDetector,
)
