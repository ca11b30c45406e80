"""Log-bucket histograms for latency and feedback-delay percentiles over folded events.

A value ``x`` falls in bucket ``i = ceil(log_g |x|)`` with ``g = (1 + a) / (1 - a)``, so
bucket ``i`` holds ``(g^(i-1), g^i]`` and its representative ``2 g^i / (g + 1)`` is within a
relative ``a`` of every value in it (DDSketch, Masson et al. 2019). Counts per bucket add
up, so histograms of segments, arms and the not-yet-folded requests merge exactly, and a
quantile read from the merged counts is within ``a`` of the exact nearest-rank quantile.

Bucket keys are integers ordered as their values: 0 holds zero (and every ``|x| < 1e-9``),
positive keys positive values, negative keys negative values (a feedback delay can be
negative when clocks disagree).

Examples
--------
>>> counts = {bucket(x): 1 for x in (1.0, 2.0, 3.0, 40.0)}
>>> abs(quantile(counts, 0.5) - 2.0) / 2.0 <= ACCURACY
True
>>> abs(quantile(counts, 1.0) - 40.0) / 40.0 <= ACCURACY
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping

__all__ = ["ACCURACY", "bucket", "quantile", "representative"]

ACCURACY = 0.01
"""Relative accuracy of every percentile read from a histogram."""

_GAMMA = (1 + ACCURACY) / (1 - ACCURACY)
_LOG_GAMMA = math.log(_GAMMA)
# Shifts bucket indexes (negative below 1) to positive keys: 2^20 buckets reach 1e-9.
_OFFSET = 1 << 20
_SMALLEST = 1e-9


def bucket(x: float) -> int:
    """The key of the bucket holding ``x``."""
    magnitude = abs(x)
    if magnitude < _SMALLEST:
        return 0
    key = math.ceil(math.log(magnitude) / _LOG_GAMMA) + _OFFSET
    return key if x > 0 else -key


def representative(key: int) -> float:
    """The value that stands for every value of bucket ``key``."""
    if key == 0:
        return 0.0
    value = 2 * _GAMMA ** (abs(key) - _OFFSET) / (_GAMMA + 1)
    return value if key > 0 else -value


def quantile(counts: Mapping[int, int], q: float) -> float | None:
    """The nearest-rank ``q`` quantile of the values counted in ``counts`` (None if empty)."""
    total = sum(count for count in counts.values() if count > 0)
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for key in sorted(counts):
        seen += max(counts[key], 0)
        if seen >= rank:
            return representative(key)
    return representative(max(counts))
