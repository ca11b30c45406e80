"""What a ranker endpoint's rankings showed, read in SQL from the raw event tables.

Each query aggregates in the database and returns one row per unit and item (or per unit,
time bucket and position bucket), never one per impression: the statistics need the unit,
not the event. A shown item belongs to the version it is credited to in
``prediction_items`` (under interleaving, the ranker that put it in the merged list; under
every other policy, the version that answered).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from champion.events.tables import feedback, prediction_items, predictions

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["POSITION_BUCKETS", "click_through_rows", "exposure_rows", "item_clicks"]

POSITION_BUCKETS = ("1", "2-3", "4-10", "11+")
"""Positions (from 1) grouped for click-through: the top slot, the rest of the fold, the
rest of a first page, further down."""

_shown = prediction_items.join(
    predictions, prediction_items.c.request_id == predictions.c.request_id
)


def _window(endpoint: str, start: datetime, end: datetime) -> sa.ColumnElement[bool]:
    p = predictions
    return (p.c.endpoint == endpoint) & (p.c.at >= start) & (p.c.at < end) & (p.c.kind == "rank")


def _clicked() -> sa.Exists:
    f, i = feedback, prediction_items
    return (
        sa.select(f.c.event_id)
        .where((f.c.request_id == i.c.request_id) & (f.c.item == i.c.item) & (f.c.kind == "click"))
        .exists()
    )


def exposure_rows(
    conn: sa.Connection, endpoint: str, start: datetime, end: datetime
) -> pd.DataFrame:
    """``model, version, unit, item, impressions, requests`` of every (version, unit, item)
    shown in ``[start, end)``."""
    import pandas as pd

    i, p = prediction_items, predictions
    query = (
        sa.select(
            i.c.model,
            i.c.version,
            p.c.unit,
            i.c.item,
            sa.func.count().label("impressions"),
        )
        .select_from(_shown)
        .where(_window(endpoint, start, end))
        .group_by(i.c.model, i.c.version, p.c.unit, i.c.item)
    )
    frame = pd.DataFrame(
        conn.execute(query).all(), columns=["model", "version", "unit", "item", "impressions"]
    )
    return frame.astype({"version": "int64", "impressions": "int64"})


def requests_per_version(
    conn: sa.Connection, endpoint: str, start: datetime, end: datetime
) -> dict[tuple[str, int], int]:
    """Rankings each version had an item in."""
    i = prediction_items
    query = (
        sa.select(i.c.model, i.c.version, sa.func.count(sa.distinct(i.c.request_id)))
        .select_from(_shown)
        .where(_window(endpoint, start, end))
        .group_by(i.c.model, i.c.version)
    )
    return {(model, int(version)): int(n) for model, version, n in conn.execute(query).all()}


def item_clicks(conn: sa.Connection, endpoint: str, start: datetime, end: datetime) -> pd.Series:
    """Clicked impressions per item shown in ``[start, end)`` (any version)."""
    import pandas as pd

    i = prediction_items
    query = (
        sa.select(i.c.item, sa.func.count())
        .select_from(_shown)
        .where(_window(endpoint, start, end) & _clicked())
        .group_by(i.c.item)
    )
    found: dict[str, int] = {str(item): int(n) for item, n in conn.execute(query).all()}
    return pd.Series(found, dtype="int64")


def click_through_rows(
    conn: sa.Connection,
    endpoint: str,
    edges: Sequence[datetime],
) -> pd.DataFrame:
    """``model, version, unit, bucket, positions, impressions, clicked`` per time bucket
    (``edges[k] <= at < edges[k + 1]``) and position bucket."""
    import pandas as pd

    i, p = prediction_items, predictions
    bucket = sa.case(
        *((p.c.at < edge, k) for k, edge in enumerate(edges[1:-1])), else_=len(edges) - 2
    ).label("bucket")
    positions = sa.case(
        (i.c.position <= 1, POSITION_BUCKETS[0]),
        (i.c.position <= 3, POSITION_BUCKETS[1]),
        (i.c.position <= 10, POSITION_BUCKETS[2]),
        else_=POSITION_BUCKETS[3],
    ).label("positions")
    clicked = sa.func.sum(sa.case((_clicked(), 1), else_=0)).label("clicked")
    query = (
        sa.select(i.c.model, i.c.version, p.c.unit, bucket, positions, sa.func.count(), clicked)
        .select_from(_shown)
        .where(_window(endpoint, edges[0], edges[-1]))
        .group_by(i.c.model, i.c.version, p.c.unit, bucket, positions)
    )
    columns = ["model", "version", "unit", "bucket", "positions", "impressions", "clicked"]
    frame = pd.DataFrame(conn.execute(query).all(), columns=columns)
    return frame.astype(
        {"version": "int64", "bucket": "int64", "impressions": "int64", "clicked": "int64"}
    )
