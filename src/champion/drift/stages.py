"""Which stage of a pipeline endpoint moved first.

A stage's outputs are the next stage's inputs, so one change shows up downstream too: a new
retrieval model, or a shift in what it is asked, moves the re-ranker's inputs. Each stage is
watched over the same consecutive windows (``drift_timeline``: its live version's inputs and
outputs against that version's reference, the detectors and correction of the drift page),
and a stage *moves* in the first window where

- a column of its drifts (its first alarm), or
- a version begins to answer for it that answered in no earlier window (a new version's
  outputs are new inputs for the stages after it, even when its own reference, fitted on
  the same data, sees no drift; a ranker stage, which has no reference profile, moves
  this way only).

The stage that moved first is the one whose first move is earliest; within one window, the
earlier stage in the chain, since its outputs are the later stages' inputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from champion.db import read
from champion.drift.comparison import Correction
from champion.drift.live import served_versions
from champion.drift.monitor import DriftMonitor
from champion.drift.span import span_versions
from champion.drift.timeline import drift_timeline

__all__ = ["StageMove", "StageMoves", "stage_moves"]


@dataclass(frozen=True)
class StageMove:
    """How one stage moved over the windows."""

    stage: str
    version: str | None
    first_alarm: datetime | None
    drifted: tuple[str, ...]
    began: tuple[tuple[str, datetime], ...]
    message: str

    @property
    def moved_at(self) -> datetime | None:
        """The start of the first window in which it moved."""
        times = [t for t in (self.first_alarm, *(at for _, at in self.began)) if t is not None]
        return min(times, default=None)

    def to_json(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "version": self.version,
            "first_alarm": None if self.first_alarm is None else self.first_alarm.isoformat(),
            "drifted": list(self.drifted),
            "began": [{"version": v, "at": at.isoformat()} for v, at in self.began],
            "moved_at": None if self.moved_at is None else self.moved_at.isoformat(),
            "message": self.message,
        }


@dataclass(frozen=True)
class StageMoves:
    endpoint: str
    start: datetime
    end: datetime
    width: timedelta
    stages: tuple[StageMove, ...]

    @property
    def moved_first(self) -> str | None:
        moved = [(m.moved_at, n, m.stage) for n, m in enumerate(self.stages) if m.moved_at]
        return min(moved)[2] if moved else None

    def to_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "window_seconds": self.width.total_seconds(),
            "moved_first": self.moved_first,
            "stages": [m.to_json() for m in self.stages],
        }


def stage_moves(
    monitor: DriftMonitor,
    endpoint: str,
    stages: Sequence[tuple[str, str]],
    *,
    window: str = "1h",
    buckets: int = 24,
    end: datetime | None = None,
    tests: Mapping[str, str] | None = None,
    correction: Correction = "bh",
) -> StageMoves:
    """Each of ``stages`` (its name, and the name its events are logged under) over
    ``buckets`` windows of ``window`` ending at ``end`` (default now); see the module
    docstring."""
    moves = []
    start = width = None
    for stage, logged in stages:
        timeline = drift_timeline(
            monitor, logged, window=window, buckets=buckets, end=end, tests=tests,
            correction=correction,
        )  # fmt: skip
        start, end, width = timeline.start, timeline.end, timeline.width
        alarm = next((run for run in timeline.runs if run.drift.drifted_columns), None)
        moves.append(
            StageMove(
                stage,
                None if timeline.version is None else str(timeline.version),
                None if alarm is None else alarm.start,
                () if alarm is None else tuple(alarm.drift.drifted_columns),
                _began(monitor, logged, timeline.start, timeline.width, buckets),
                timeline.message,
            )
        )
    assert start is not None and end is not None and width is not None  # one stage at least
    return StageMoves(endpoint, start, end, width, tuple(moves))


def _began(
    monitor: DriftMonitor, logged: str, start: datetime, width: timedelta, buckets: int
) -> tuple[tuple[str, datetime], ...]:
    """The versions that began to answer after the first window in which any answered."""
    seen: set[str] | None = None
    began: list[tuple[str, datetime]] = []
    with read(monitor.engine) as conn:
        for k in range(buckets):
            at = start + width * k
            versions = {str(key) for key, n in span_versions(conn, logged, at, at + width) if n}
            # A ranker stage's rankings too (raw rows: drift stores no day of rankings).
            versions |= {
                str(key) for key, _ in served_versions(conn, logged, at, at + width, "rank")
            }
            if seen is not None:
                began.extend((v, at) for v in sorted(versions - seen))
                seen |= versions
            elif versions:
                seen = versions
    return tuple(began)
