"""Windows of served predictions, streamed from the event log in chunks (flat memory).

Each prediction event holds the request's instances and the model's outputs; a chunk is a
DataFrame with one row per instance: the input fields, then the flattened outputs
(``output.label``, ``output.probabilities.1``, … as in the reference profile).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from champion.drift.references import flatten_outputs
from champion.events.tables import predictions
from champion.registry import VersionKey

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CHUNK_EVENTS",
    "DAY",
    "count_events",
    "count_predictions",
    "dated_chunks",
    "day_of",
    "prediction_chunks",
    "served_versions",
]

CHUNK_EVENTS = 5_000
"""Prediction events fetched per round trip (a server-side cursor on PostgreSQL)."""
DAY = timedelta(days=1)


def day_of(at: datetime) -> datetime:
    """The UTC midnight that starts ``at``'s day."""
    return at.replace(hour=0, minute=0, second=0, microsecond=0)


def _where(
    endpoint: str,
    start: datetime,
    end: datetime,
    version: VersionKey | None,
    kind: str = "predict",
) -> sa.ColumnElement[bool]:
    p = predictions
    clause = (p.c.endpoint == endpoint) & (p.c.at >= start) & (p.c.at < end) & (p.c.kind == kind)
    if version is not None:
        clause = clause & (p.c.model == version.model) & (p.c.version == version.number)
    return clause


def served_versions(
    conn: sa.Connection, endpoint: str, start: datetime, end: datetime, kind: str = "predict"
) -> list[tuple[VersionKey, int]]:
    """The versions that answered predictions (or, with ``kind`` ``rank``, rankings) in
    ``[start, end)``, most requests first."""
    p = predictions
    rows = conn.execute(
        sa.select(p.c.model, p.c.version, sa.func.count().label("n"))
        .where(_where(endpoint, start, end, None, kind))
        .group_by(p.c.model, p.c.version)
    ).all()
    found = [(VersionKey(r.model, int(r.version)), int(r.n)) for r in rows]
    return sorted(found, key=lambda pair: (-pair[1], pair[0]))


def count_predictions(
    conn: sa.Connection, endpoint: str, start: datetime, end: datetime, version: VersionKey | None
) -> int:
    query = sa.select(sa.func.count()).where(_where(endpoint, start, end, version))
    return int(conn.execute(query).scalar_one())


def count_events(conn: sa.Connection, endpoint: str, start: datetime, end: datetime) -> int:
    """Prediction events of any kind in ``[start, end)``: read from the (endpoint, at) index
    alone, without the rows."""
    p = predictions
    query = sa.select(sa.func.count()).where(
        (p.c.endpoint == endpoint) & (p.c.at >= start) & (p.c.at < end)
    )
    return int(conn.execute(query).scalar_one())


def prediction_chunks(
    engine: sa.Engine,
    endpoint: str,
    start: datetime,
    end: datetime,
    version: VersionKey | None = None,
    chunk_events: int = CHUNK_EVENTS,
) -> Iterator[pd.DataFrame]:
    """The served instances of ``endpoint`` in ``[start, end)``, ``chunk_events`` at a time."""
    import pandas as pd

    query = (
        sa.select(predictions.c.inputs, predictions.c.outputs)
        .where(_where(endpoint, start, end, version))
        .order_by(predictions.c.at)
    )
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=chunk_events).execute(query)
        for partition in result.partitions():
            instances: list[dict[str, object]] = []
            outputs: list[object] = []
            for inputs, answered in partition:
                instances.extend(inputs)
                outputs.extend(answered)
            frame = pd.DataFrame.from_records(instances)
            yield pd.concat([frame, flatten_outputs(outputs)], axis=1)


def dated_chunks(
    engine: sa.Engine,
    endpoint: str,
    start: datetime,
    end: datetime,
    version: VersionKey | None = None,
    chunk_events: int = CHUNK_EVENTS,
) -> Iterator[tuple[datetime, int, pd.DataFrame]]:
    """As ``prediction_chunks``, but no chunk straddles a UTC midnight: ``(day, events,
    frame)``, days in order, ``events`` the prediction events behind the frame's rows."""
    query = (
        sa.select(predictions.c.at, predictions.c.inputs, predictions.c.outputs)
        .where(_where(endpoint, start, end, version))
        .order_by(predictions.c.at)
    )
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=chunk_events).execute(query)
        for partition in result.partitions():
            day: datetime | None = None
            events = 0
            instances: list[dict[str, object]] = []
            outputs: list[object] = []
            for at, inputs, answered in partition:
                today = day_of(at)
                if day is not None and today != day:
                    yield day, events, _frame(instances, outputs)
                    events, instances, outputs = 0, [], []
                day = today
                events += 1
                instances.extend(inputs)
                outputs.extend(answered)
            if day is not None:
                yield day, events, _frame(instances, outputs)


def _frame(instances: list[dict[str, object]], outputs: list[object]) -> pd.DataFrame:
    import pandas as pd

    frame = pd.DataFrame.from_records(instances)
    return pd.concat([frame, flatten_outputs(outputs)], axis=1)
