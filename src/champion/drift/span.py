"""What an endpoint served over any span, from stored days and raw rows.

A span is cut at UTC midnights. A whole day that is summarised (``days``) is read from its
stored windows, whether or not its raw rows still exist: the stored day was made from the
same rows by the same code, so the answer is the same and costs one row. Every other piece
(a day not summarised yet, the partial first and last days of a span) is streamed from raw
rows, a day at a time. Days are merged oldest first (``stretch.merge``), the same way
whichever source each day came from, so a drift run over whole days gives the same
statistics and p-values after the raw rows are deleted as before.

A partial day whose raw rows are gone (fewer raw prediction events than it was summarised
from) is read as the whole stored day: the span is widened to that day's midnights and the
answer says so (``resolution`` ``"day"``, and the ``start`` and ``end`` it covers).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa

from champion.db import read
from champion.drift.days import stored_events
from champion.drift.live import CHUNK_EVENTS, DAY, count_events, dated_chunks, day_of
from champion.drift.live import served_versions as raw_versions
from champion.drift.profile import ReferenceProfile
from champion.drift.references import StoredReference
from champion.drift.stretch import (
    Stretch,
    accumulate,
    merge,
    merge_generators,
    stretch_from_state,
)
from champion.drift.tables import drift_days
from champion.registry import VersionKey

__all__ = ["Resolution", "Span", "read_span", "span_versions"]

Resolution = Literal["exact", "day"]


@dataclass(frozen=True)
class Span:
    """The stretch a span left behind, and what it covers."""

    stretch: Stretch
    start: datetime
    end: datetime
    resolution: Resolution
    stored_days: int


@dataclass(frozen=True)
class _Piece:
    start: datetime
    end: datetime
    stored: bool  # read from the stored day (whole days, or a partial one widened to it)


def _pieces(conn: sa.Connection, endpoint: str, start: datetime, end: datetime) -> list[_Piece]:
    stored = stored_events(conn, endpoint, day_of(start), end)
    pieces = []
    day = day_of(start)
    while day < end:
        low, high = max(start, day), min(end, day + DAY)
        whole = (low, high) == (day, day + DAY)
        if day in stored and (whole or count_events(conn, endpoint, day, day + DAY) < stored[day]):
            pieces.append(_Piece(day, day + DAY, stored=True))
        else:
            pieces.append(_Piece(low, high, stored=False))
        day += DAY
    return pieces


def read_span(
    engine: sa.Engine,
    endpoint: str,
    reference: StoredReference,
    start: datetime,
    end: datetime,
    *,
    progress: Callable[[int], None] | None = None,
    chunk_events: int = CHUNK_EVENTS,
) -> Span:
    """``endpoint``'s ``predict`` instances answered by ``reference``'s version in
    ``[start, end)``, accumulated against its profile; see the module docstring.

    A stored day counted against another profile than ``reference`` (it was replaced) is
    read from raw rows instead.
    """
    profile, key = reference.profile, reference.key
    with read(engine) as conn:
        pieces = _pieces(conn, endpoint, start, end)
        states = _stored_states(conn, endpoint, key, start, end)
    generators = merge_generators(profile)
    total: Stretch | None = None
    stored_days = 0
    for is_stored, run in itertools.groupby(pieces, key=lambda p: p.stored):
        group = list(run)
        if is_stored:
            for piece in group:
                found = states.get(piece.start)
                if found is None:  # the version served nothing that day
                    continue
                counted_on, state, rows, events = found
                if state is None or counted_on != reference.created_at:
                    days = _raw_days(engine, endpoint, key, profile, piece, chunk_events, progress)
                else:
                    days = iter([stretch_from_state(profile, state, rows, events)])
                    stored_days += 1
                    if progress is not None:
                        progress(rows)
                for day in days:
                    total = day if total is None else merge(profile, total, day, generators)
        else:
            stretch = _Piece(group[0].start, group[-1].end, stored=False)
            for day in _raw_days(engine, endpoint, key, profile, stretch, chunk_events, progress):
                total = day if total is None else merge(profile, total, day, generators)
    if total is None:
        total = accumulate(profile, [])
    widened = (pieces[0].stored and pieces[0].start < start) or (
        pieces[-1].stored and pieces[-1].end > end
    )
    return Span(
        total,
        min(start, pieces[0].start),
        max(end, pieces[-1].end),
        "day" if widened else "exact",
        stored_days,
    )


def _raw_days(
    engine: sa.Engine,
    endpoint: str,
    key: VersionKey,
    profile: ReferenceProfile,
    piece: _Piece,
    chunk_events: int,
    progress: Callable[[int], None] | None,
) -> Iterator[Stretch]:
    chunks = dated_chunks(engine, endpoint, piece.start, piece.end, key, chunk_events)
    for _, day in itertools.groupby(chunks, key=lambda chunk: chunk[0]):
        yield accumulate(profile, ((events, frame) for _, events, frame in day), progress=progress)


def _stored_states(
    conn: sa.Connection, endpoint: str, key: VersionKey, start: datetime, end: datetime
) -> dict[datetime, tuple[datetime | None, dict[str, Any] | None, int, int]]:
    d = drift_days
    rows = conn.execute(
        sa.select(d.c.day, d.c.reference_at, d.c.state, d.c.rows, d.c.predictions).where(
            (d.c.endpoint == endpoint)
            & (d.c.model == key.model)
            & (d.c.version == key.number)
            & (d.c.day >= day_of(start))
            & (d.c.day < end)
        )
    )
    return {
        row.day: (row.reference_at, row.state, int(row.rows), int(row.predictions)) for row in rows
    }


def span_versions(
    conn: sa.Connection, endpoint: str, start: datetime, end: datetime
) -> list[tuple[VersionKey, int]]:
    """The versions that answered ``predict`` requests in ``[start, end)``, most first:
    stored days' counts where ``read_span`` reads stored days, raw counts elsewhere."""
    counts: dict[VersionKey, int] = {}
    pieces = _pieces(conn, endpoint, start, end)
    stored = [p.start for p in pieces if p.stored]
    if stored:
        d = drift_days
        rows = conn.execute(
            sa.select(d.c.model, d.c.version, sa.func.sum(d.c.predictions))
            .where((d.c.endpoint == endpoint) & d.c.day.in_(stored))
            .group_by(d.c.model, d.c.version)
        )
        for model, version, n in rows:
            key = VersionKey(model, int(version))
            counts[key] = counts.get(key, 0) + int(n)
    for is_stored, run in itertools.groupby(pieces, key=lambda p: p.stored):
        if is_stored:
            continue
        group = list(run)
        for key, n in raw_versions(conn, endpoint, group[0].start, group[-1].end):
            counts[key] = counts.get(key, 0) + n
    return sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))
