"""Diagnostics: step timings, dependency health, data integrity and package versions.

The assembled report is :func:`champion.diagnostics.report.diagnose`; the serving stages it
shows are measured by :class:`champion.serving.StageTimings`.
"""

from __future__ import annotations

from champion.diagnostics.packages import compare_packages, newest_versions

__all__ = ["compare_packages", "newest_versions"]
