"""Diagnostics: step timings, serving stages, dependency health and data integrity.

The assembled report is :func:`champion.diagnostics.report.diagnose`; the serving path only
needs :class:`StageTimings`, so this package imports nothing heavier.
"""

from __future__ import annotations

from champion.diagnostics.packages import compare_packages, newest_versions
from champion.diagnostics.timing import STAGES, StageTimings

__all__ = ["STAGES", "StageTimings", "compare_packages", "newest_versions"]
