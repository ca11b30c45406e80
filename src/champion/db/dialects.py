"""The few places where SQL differs between SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from champion.db.metadata import UTCDateTime

__all__ = ["bulk_insert", "insert_ignoring_duplicates", "seconds_between"]


def insert_ignoring_duplicates(
    conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]], key: str
) -> None:
    """Insert ``rows``, silently skipping those whose ``key`` already exists."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).on_conflict_do_nothing(index_elements=[key])
    conn.execute(statement, list(rows))


def seconds_between(dialect: str, later: Any, earlier: Any) -> sa.ColumnElement[float]:
    """SQL for ``later - earlier`` in seconds, for two UTC timestamp columns."""
    if dialect == "postgresql":
        return sa.cast(sa.extract("epoch", later - earlier), sa.Float)
    # SQLite keeps times as text; julianday() reads them (milliseconds are significant).
    return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400.0


def bulk_insert(conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many rows with one driver-level ``executemany``.

    SQLAlchemy's per-row parameter processing costs about 30 µs a row, which the prediction
    log pays on every request; here values are converted once, by column type, and handed to
    the driver directly. Only for the column types used by append-only event tables.
    """
    if not rows:
        return
    columns = list(rows[0])
    postgres = conn.dialect.name == "postgresql"
    converters = [_converter(table.c[name].type, postgres) for name in columns]
    marker = "%s" if postgres else "?"
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join(marker for _ in columns)})"
    )
    take = itemgetter(*columns)
    special = [(i, convert) for i, convert in enumerate(converters) if convert is not _same]
    values: list[Any]
    if len(columns) == 1:
        values = [(take(row),) for row in rows]
    elif not special:
        values = [take(row) for row in rows]
    else:
        values = []
        for row in rows:
            value = list(take(row))
            for i, convert in special:
                value[i] = convert(value[i])
            values.append(tuple(value))
    conn.exec_driver_sql(sql, values)


def _converter(column_type: Any, postgres: bool) -> Callable[[Any], Any]:
    if isinstance(column_type, UTCDateTime):
        return _aware if postgres else _sqlite_time
    if isinstance(column_type, sa.JSON):
        if postgres:
            from psycopg.types.json import Jsonb

            return lambda value: None if value is None else Jsonb(value, dumps=_json_text)
        return lambda value: None if value is None else _json_text(value)
    return _same


def _same(value: Any) -> Any:
    return value


def _json_text(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError(f"Naive datetime {value!r}: champion stores UTC-aware times only.")
    return value


def _sqlite_time(value: datetime | None) -> str | None:
    # The text format SQLAlchemy's SQLite DateTime reads and compares.
    if value is None:
        return None
    aware = _aware(value)
    assert aware is not None
    return aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
