"""The contract every batch detector must pass; run on every registered one.

Plugin authors run ``check_detector`` on their own ``DetectorSpec``; champion's tests run it
over ``default_detectors()``.
"""

from __future__ import annotations

import math

import numpy as np

from champion.drift.detectors import DetectorSpec, DriftResult
from champion.drift.profile import ColumnKind, ColumnProfile

__all__ = ["check_detector"]


def _samples(kind: ColumnKind, n: int, seed: int) -> tuple[list[object], list[object]]:
    rng = np.random.default_rng(seed)
    if kind == "numeric":
        same = rng.normal(size=n)
        return list(same), list(same + 3.0)
    levels = np.array(["a", "b", "c", "d", "e"])
    same = rng.choice(levels, size=n, p=[0.4, 0.3, 0.15, 0.1, 0.05])
    shifted = rng.choice(levels, size=n, p=[0.05, 0.1, 0.15, 0.3, 0.4])
    return list(same), list(shifted)


def check_detector(spec: DetectorSpec) -> None:
    """Check a detector's contract on every column kind it accepts.

    * the entry is complete: a name, display name, column kinds and a positive threshold;
    * identical reference and current data → not drifted;
    * a big shift (3 standard deviations; category shares reversed) → drifted;
    * a p-value, when the detector has one, lies in [0, 1]; without one it is None;
    * the statistic is finite and the result names the detector and its threshold;
    * the same input gives the same result;
    * all of this with an exact reference (2,000 values) and a sketched one (20,000).

    >>> from champion.drift.detectors import default_detectors
    >>> check_detector(default_detectors().get("ks"))

    Raises ``AssertionError`` naming the broken rule.
    """
    assert spec.name and spec.display_name, "a detector needs a name and a display name"
    assert spec.column_kinds, f"{spec.name}: no column kinds"
    assert spec.default_threshold > 0, f"{spec.name}: the default threshold must be positive"
    detector = spec.build()
    for kind in sorted(spec.column_kinds):
        for n in (2_000, 20_000):
            same, shifted = _samples(kind, n, seed=n)
            reference = ColumnProfile.from_values("x", same, kind)
            quiet = detector.compare(reference, same)
            _check_result(spec, quiet, f"identical {kind} data, n={n}")
            assert not quiet.drifted, f"{spec.name}: identical {kind} data (n={n}) drifted"
            loud = detector.compare(reference, shifted)
            _check_result(spec, loud, f"shifted {kind} data, n={n}")
            assert loud.drifted, f"{spec.name}: a big {kind} shift (n={n}) was not detected"
            again = detector.compare(reference, shifted)
            assert _same(again, loud), f"{spec.name}: {loud} then {again} on the same input"


def _check_result(spec: DetectorSpec, result: DriftResult, case: str) -> None:
    assert result.method == spec.name, f"{spec.name}: method {result.method!r} on {case}"
    assert result.threshold == spec.default_threshold, f"{spec.name}: threshold on {case}"
    assert math.isfinite(result.statistic), f"{spec.name}: statistic {result.statistic} on {case}"
    if spec.has_p_value:
        assert result.p_value is not None, f"{spec.name}: no p-value on {case}"
        assert 0.0 <= result.p_value <= 1.0, f"{spec.name}: p-value {result.p_value} on {case}"
    else:
        assert result.p_value is None, f"{spec.name}: a distance has no p-value ({case})"


def _same(a: DriftResult, b: DriftResult) -> bool:
    return a == b or (
        math.isnan(a.statistic) and math.isnan(b.statistic) and a.drifted == b.drifted
    )
