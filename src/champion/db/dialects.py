"""The few places where SQL differs between SQLite and PostgreSQL."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from champion.db.metadata import UTCDateTime

__all__ = [
    "RowEncoder",
    "SumUpsert",
    "among",
    "insert_encoded",
    "insert_ignoring_duplicates",
    "seconds_between",
    "sum_upsert",
]


def insert_ignoring_duplicates(
    conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]], key: str
) -> None:
    """Insert ``rows``, silently skipping those whose ``key`` already exists."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).on_conflict_do_nothing(index_elements=[key])
    conn.execute(statement, list(rows))


def among(dialect: str, column: sa.ColumnElement[Any], values: Sequence[Any]) -> Any:
    """``column IN values`` with the values bound as one parameter (a PostgreSQL array, a
    JSON array read by SQLite's ``json_each``): one bind whatever their number, so thousands
    of ids cost no statement text, no parse and no Python conversion each."""
    if dialect == "postgresql":
        return column == sa.any_(
            sa.bindparam(None, list(values), type_=postgresql.ARRAY(column.type))
        )
    listed: sa.Select[Any] = sa.select(sa.column("value")).select_from(
        sa.func.json_each(sa.bindparam(None, orjson.dumps(list(values)).decode(), sa.String))
    )
    return column.in_(listed)


def seconds_between(dialect: str, later: Any, earlier: Any) -> sa.ColumnElement[float]:
    """SQL for ``later - earlier`` in seconds, for two UTC timestamp columns."""
    if dialect == "postgresql":
        return sa.cast(sa.extract("epoch", later - earlier), sa.Float)
    # SQLite keeps times as text; julianday() reads them (milliseconds are significant).
    return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400.0


class RowEncoder:
    """Rows of ``table`` as JSON (each a list of its column values) and the statement that
    inserts many of them at once (``insert_encoded``).

    Encoding happens where the row is made (on the request path, a few µs), so the thread that
    writes has almost nothing left to do while it holds the GIL.
    """

    def __init__(self, table: sa.Table, dialect: str) -> None:
        self.table = table
        # Bookkeeping columns with a server default (e.g. ``folded``) are the database's to fill.
        written = [column for column in table.columns if column.server_default is None]
        self.columns = [column.name for column in written]
        self._times = [
            i for i, column in enumerate(written) if isinstance(column.type, UTCDateTime)
        ]
        postgres = dialect == "postgresql"
        self._time_text = _postgres_time if postgres else _sqlite_time
        values = [_json_column_sql(i, c.type, postgres) for i, c in enumerate(written)]
        source = _POSTGRES_SOURCE if postgres else "json_each(?)"
        # A row already stored is skipped, so writing a batch twice (a replay after a commit
        # whose answer was lost) stores each row once. SQLite needs the WHERE to tell the
        # ON CONFLICT clause from a join's ON.
        self.sql = (
            f"INSERT INTO {table.name} ({', '.join(self.columns)}) "
            f"SELECT {', '.join(values)} FROM {source} WHERE true ON CONFLICT DO NOTHING"
        )

    def __call__(self, row: dict[str, Any]) -> bytes:
        """One row; raises TypeError (orjson's) for a value JSON cannot hold."""
        values = [row[name] for name in self.columns]
        for i in self._times:
            values[i] = self._time_text(values[i])
        return orjson.dumps(values, option=orjson.OPT_NON_STR_KEYS)


def insert_encoded(conn: sa.Connection, encoder: RowEncoder, rows: Sequence[bytes]) -> None:
    """Insert rows made by ``encoder`` with one statement that reads them from a JSON array;
    a row whose primary key is already stored is skipped.

    The database parses the array, so the driver binds a single parameter and runs the whole
    insert without the GIL. (``executemany`` gives the GIL up and takes it back for every
    row, and each time, the thread serving requests is made to wait for it.)
    """
    if rows:
        conn.exec_driver_sql(encoder.sql, ((b"[" + b",".join(rows) + b"]").decode(),))


class SumUpsert:
    """Adds rows of sums into ``table`` with one statement that reads them from a JSON array
    (as :func:`insert_encoded` inserts): a row whose primary key is stored adds each of its
    values to the stored one (a column of ``latest`` keeps the later of the two), and with no
    column but the key a stored row is left as it is. Call it with each row's values in the
    order of :attr:`columns` (the primary key first); it returns the ``returning`` columns of
    every row it inserted or changed, times as the database stores them (:meth:`stored`).

    One statement, whatever the rows: the fold pass adds a batch's thousands of sums per
    table without a round trip, a parse or a Python conversion per row.
    """

    def __init__(
        self,
        table: sa.Table,
        dialect: str,
        *,
        latest: Sequence[str] = (),
        returning: Sequence[str] = (),
    ) -> None:
        keys = [c for c in table.columns if c.primary_key]
        values = [c for c in table.columns if not c.primary_key]
        self.columns = [c.name for c in (*keys, *values)]
        self.postgres = dialect == "postgresql"
        self._times = [i for i, c in enumerate((*keys, *values)) if isinstance(c.type, UTCDateTime)]
        read = ", ".join(
            _json_column_sql(i, c.type, self.postgres, whole=True)
            for i, c in enumerate((*keys, *values))
        )
        name = table.name

        def added(column: str) -> str:
            if column in latest:
                return (
                    f'"{column}" = CASE WHEN excluded."{column}" > {name}."{column}" '
                    f'THEN excluded."{column}" ELSE {name}."{column}" END'
                )
            return f'"{column}" = {name}."{column}" + excluded."{column}"'

        conflict = (
            "DO UPDATE SET " + ", ".join(added(c.name) for c in values) if values else "DO NOTHING"
        )
        source = _POSTGRES_SOURCE if self.postgres else "json_each(?)"
        self.sql = (
            f"INSERT INTO {name} ({', '.join(map(_quoted, self.columns))}) "
            f"SELECT {read} FROM {source} WHERE true "
            f"ON CONFLICT ({', '.join(_quoted(c.name) for c in keys)}) {conflict}"
        )
        if returning:
            self.sql += " RETURNING " + ", ".join(f'{name}."{c}"' for c in returning)
        self.returning = bool(returning)

    def stored(self, at: datetime) -> Any:
        """A time as the rows returned hold it (SQLite's text, PostgreSQL's datetime)."""
        return at if self.postgres else _sqlite_time(at)

    def __call__(self, conn: sa.Connection, rows: Iterable[Sequence[Any]]) -> list[tuple[Any, ...]]:
        texts: dict[datetime, str | None] = {}
        as_text = _postgres_time if self.postgres else _sqlite_time
        encoded = []
        for row in rows:
            values = list(row)
            for i in self._times:
                at = values[i]
                if at not in texts:
                    texts[at] = as_text(at)
                values[i] = texts[at]
            encoded.append(values)
        if not encoded:
            return []
        result = conn.exec_driver_sql(self.sql, (orjson.dumps(encoded).decode(),))
        return [tuple(row) for row in result] if self.returning else []


def _quoted(name: str) -> str:
    return f'"{name}"'


@functools.cache
def sum_upsert(
    table: sa.Table, dialect: str, latest: tuple[str, ...] = (), returning: tuple[str, ...] = ()
) -> SumUpsert:
    """The :class:`SumUpsert` of ``table`` (built once per arguments)."""
    return SumUpsert(table, dialect, latest=latest, returning=returning)


def _json_column_sql(index: int, column_type: Any, postgres: bool, *, whole: bool = False) -> str:
    """SQL reading element ``index`` of each row (``e`` on PostgreSQL, ``value`` on SQLite);
    ``whole``: an integer column may be given as a float with no fraction (a sum)."""
    if postgres:
        if isinstance(column_type, sa.JSON):
            return f"NULLIF((e -> {index})::jsonb, 'null'::jsonb)"
        if isinstance(column_type, UTCDateTime):
            cast: str | None = "timestamptz"
        elif whole and isinstance(column_type, sa.Integer):
            cast = "double precision::bigint"
        else:
            cast = _POSTGRES_CASTS.get(type(column_type))
        if cast is None and not isinstance(column_type, sa.String):
            raise TypeError(f"insert_encoded cannot store {column_type!r}")
        return f"(e ->> {index})::{cast}" if cast else f"(e ->> {index})"
    if isinstance(column_type, sa.JSON):
        # json_quote gives JSON text for any element (a string too); a JSON null is SQL NULL.
        return f"NULLIF(json_quote(json_extract(value, '$[{index}]')), 'null')"
    return f"json_extract(value, '$[{index}]')"


_POSTGRES_SOURCE = "jsonb_array_elements(%s::jsonb) AS e"
"""The rows of the bound JSON array. As jsonb the array is parsed once: ``json``'s ``->>``
parses each row's text again for every column read (3x the time for a 27-column row)."""

_POSTGRES_CASTS: dict[type, str] = {
    sa.Integer: "integer",
    sa.BigInteger: "bigint",
    sa.Float: "double precision",
    sa.Boolean: "boolean",
}


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"Naive datetime {value!r}: champion stores UTC-aware times only.")
    return value


def _sqlite_time(value: datetime | None) -> str | None:
    # The text SQLAlchemy's SQLite DateTime writes, reads and compares: "%Y-%m-%d %H:%M:%S.%f".
    if value is None:
        return None
    return _aware(value).astimezone(UTC).isoformat(" ", "microseconds")[:26]


def _postgres_time(value: datetime | None) -> str | None:
    return None if value is None else _aware(value).isoformat()
