"""Evaluation of experiments: statistical tests comparing a champion with a challenger."""

from __future__ import annotations

from champion.evaluation.comparisons import InterleavingComparison, interleaving_comparisons
from champion.evaluation.stattests import (
    StatResult,
    StatTest,
    Summary,
    check_stattest,
    default_stattests,
)

__all__ = [
    "InterleavingComparison",
    "StatResult",
    "StatTest",
    "Summary",
    "check_stattest",
    "default_stattests",
    "interleaving_comparisons",
]
