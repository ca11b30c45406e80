"""Drift over time: every reference column, window by window, for a heatmap of columns by time.

The span ``[end - buckets · window, end)`` is cut into ``buckets`` consecutive windows and each
one is a drift run of its own (``DriftMonitor.endpoint_drift``: the same detectors, thresholds
and correction as ``GET /v1/endpoints/{e}/drift``) against one version's reference: the version
serving the endpoint now (its configuration's champion) unless one is named; the timeline lists
the other versions one may choose. Beside the verdicts, each window keeps what the run
accumulated per column (the counts on the reference histogram's edges, or per category), so the
reference and any window can be drawn side by side, and each column's ``trend``: how fast its
statistic moves per day over the windows (``trend.column_trend``). A window without
predictions has no cells.
Over days whose raw predictions are gone, a window narrower than a day compares the whole
stored day, and its bucket says ``"resolution": "day"``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from champion.drift.comparison import Correction
from champion.drift.labelled import find_labelled
from champion.drift.monitor import (
    DriftMonitor,
    DriftRun,
    VersionBasis,
    VersionChoice,
    no_predictions,
)
from champion.drift.profile import ColumnProfile
from champion.drift.references import StoredReference
from champion.drift.trend import column_trend
from champion.drift.window import ColumnWindow
from champion.errors import InvalidInput, NotFound
from champion.periods import parse_window
from champion.registry import VersionKey

__all__ = ["MAX_BUCKETS", "MAX_CATEGORIES", "DriftTimeline", "drift_timeline"]

MAX_BUCKETS = 96
MAX_CATEGORIES = 30
"""Categories drawn per column; the rarest beyond these are summed as ``(other)``."""
OTHER = "(other)"


@dataclass(frozen=True)
class DriftTimeline:
    """One drift run per window (oldest first), or none with the ``message`` saying why."""

    endpoint: str
    start: datetime
    end: datetime
    width: timedelta
    reference: StoredReference | None
    runs: tuple[DriftRun, ...]
    message: str = ""
    version: VersionKey | None = None
    """The version judged (its reference, its predictions), even when it has no reference."""
    basis: VersionBasis = "live"
    choices: tuple[VersionChoice, ...] = ()
    labelled: str | None = None
    """The label column of the version's labelled reference (performance can be estimated)."""

    def to_json(self) -> dict[str, Any]:
        reference = self.reference
        body: dict[str, Any] = {
            "endpoint": self.endpoint,
            "version": None if self.version is None else str(self.version),
            "version_basis": self.basis,
            "versions": [choice.to_json() for choice in self.choices],
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "window_seconds": self.width.total_seconds(),
            "message": self.message,
            "reference": None
            if reference is None
            else {"rows": reference.rows, "source": reference.source, "labelled": self.labelled},
            "buckets": [
                {
                    "start": run.start.isoformat() if run.start else None,
                    "end": run.end.isoformat() if run.end else None,
                    "rows": run.drift.rows,
                    "share_drifted": run.drift.share_drifted if run.drift.columns else None,
                    "resolution": run.resolution,
                }
                for run in self.runs
            ],
            "columns": [],
        }
        if reference is not None:
            outputs = set(reference.output_columns)
            body["columns"] = [
                _column(profile, self.runs, "output" if profile.name in outputs else "input")
                for profile in reference.profile.columns
            ]
        return body


def _column(profile: ColumnProfile, runs: Sequence[DriftRun], role: str) -> dict[str, Any]:
    cells: list[dict[str, Any] | None] = []
    windows: list[ColumnWindow | None] = []
    for run in runs:
        found = next((c for c in run.drift.columns if c.column == profile.name), None)
        windows.append(run.drift.windows.get(profile.name) if found is not None else None)
        cells.append(
            None
            if found is None
            else {
                "method": found.method,
                "statistic": found.statistic,
                "p_value": found.p_value,
                "p_adjusted": found.p_adjusted,
                "threshold": found.threshold,
                "drifted": found.drifted,
                "severity": found.severity,
                "n": found.n_current,
            }
        )
    trend = column_trend(profile.name, runs)
    return {
        "column": profile.name,
        "kind": profile.kind,
        "role": role,
        "cells": cells,
        "trend": None if trend is None else trend.to_json(),
        "distribution": _distribution(profile, windows),
    }


def _distribution(profile: ColumnProfile, windows: Sequence[ColumnWindow | None]) -> dict[str, Any]:
    """The reference's counts and each window's, on the same bins or categories."""
    if profile.kind == "numeric":
        return {
            "edges": [] if profile.bin_edges is None else profile.bin_edges.tolist(),
            "reference": [] if profile.bin_counts is None else profile.bin_counts.tolist(),
            "current": [
                None if w is None or w.bin_counts is None else w.bin_counts.tolist()
                for w in windows
            ],
        }
    reference = dict(profile.frequencies or {})
    seen: dict[str, int] = {}
    for window in windows:
        for key, count in ((window and window.frequencies) or {}).items():
            seen[key] = seen.get(key, 0) + count
    ranked = sorted(
        set(reference) | set(seen), key=lambda k: (-reference.get(k, 0), -seen.get(k, 0), k)
    )
    shown = ranked[:MAX_CATEGORIES]
    return {
        "categories": shown + ([OTHER] if len(ranked) > len(shown) else []),
        "reference": _counts_of(reference, shown, len(ranked) > len(shown)),
        "current": [
            None
            if w is None
            else _counts_of(dict(w.frequencies or {}), shown, len(ranked) > len(shown))
            for w in windows
        ],
    }


def _counts_of(counts: Mapping[str, int], shown: Sequence[str], other: bool) -> list[int]:
    found = [counts.get(k, 0) for k in shown]
    if other:
        found.append(sum(counts.values()) - sum(found))
    return found


def drift_timeline(
    monitor: DriftMonitor,
    endpoint: str,
    *,
    window: str = "1h",
    buckets: int = 24,
    end: datetime | None = None,
    version: str | None = None,
    tests: Mapping[str, str] | None = None,
    correction: Correction = "bh",
) -> DriftTimeline:
    """``buckets`` windows of width ``window`` ending at ``end`` (default now); see the
    module docstring. Nothing served, or no reference for the version: no runs, and a
    ``message`` that says what to do."""
    if isinstance(buckets, bool) or not isinstance(buckets, int) or not 1 <= buckets <= MAX_BUCKETS:
        raise InvalidInput(
            "The 'buckets' parameter of drift_timeline must be an int in the range "
            f"[1, {MAX_BUCKETS}]. Got {buckets!r} instead."
        )
    width = parse_window(window)
    end = end or monitor.clock.now()
    start = end - width * buckets
    key = monitor.window_version(endpoint, start, end, version)
    basis: VersionBasis = "live" if version is None else "requested"
    choices = tuple(monitor.window_versions(endpoint, start, end))
    try:
        reference = monitor.references.get(key)
    except NotFound as exc:  # a ranker, or no profile stored: a message, not an error
        return DriftTimeline(
            endpoint, start, end, width, None, (), exc.message, key, basis, choices
        )
    served = {choice.key: choice.predictions for choice in choices}
    if not served.get(key):
        message = no_predictions(endpoint, key, start, end)
        return DriftTimeline(endpoint, start, end, width, None, (), message, key, basis, choices)
    runs = tuple(
        monitor.endpoint_drift(
            endpoint,
            start=start + width * k,
            end=start + width * (k + 1),
            version=str(key),
            tests=tests,
            correction=correction,
            allow_empty=True,
        )
        for k in range(buckets)
    )
    found = find_labelled(monitor.engine, key)
    labelled = None if found is None else found.label
    return DriftTimeline(
        endpoint, start, end, width, reference, runs, "", key, basis, choices, labelled
    )
