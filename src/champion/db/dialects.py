"""The few places where SQL differs between SQLite and PostgreSQL."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from champion.db.metadata import UTCDateTime

__all__ = [
    "EncodedRow",
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


EncodedRow = bytes | tuple[Any, ...]
"""A row made by :class:`RowEncoder`: JSON text (PostgreSQL) or the values SQLite binds."""


class RowEncoder:
    """Rows of ``table`` made ready where they are made (on the request path, a few µs) for
    the statements that insert many of them at once (``insert_encoded``), so the thread that
    writes has almost nothing left to do while it holds the GIL.

    For PostgreSQL a row is JSON (a list of its column values), and a batch one bound JSON
    array. For SQLite a row is the tuple of values its driver binds (JSON columns as JSON text,
    times as text), and a batch a few multi-row ``VALUES`` statements: SQLite 3.40 parses a
    row's JSON once for each column it reads from it (20 µs of CPU a row, against 7).
    Either way a value JSON cannot hold (or SQLite cannot bind) raises TypeError here, so a
    bad event is dropped alone before it is queued.
    """

    def __init__(self, table: sa.Table, dialect: str) -> None:
        self.table = table
        # Bookkeeping columns with a server default (e.g. ``folded``) are the database's to fill.
        written = [column for column in table.columns if column.server_default is None]
        self.columns = [column.name for column in written]
        self._times = [
            i for i, column in enumerate(written) if isinstance(column.type, UTCDateTime)
        ]
        self._json = [i for i, column in enumerate(written) if isinstance(column.type, sa.JSON)]
        self._plain = [i for i in range(len(written)) if i not in self._json]
        self._integers = [i for i, c in enumerate(written) if isinstance(c.type, sa.Integer)]
        self.postgres = dialect == "postgresql"
        self._time_text = _postgres_time if self.postgres else _sqlite_time
        # A row already stored is skipped, so writing a batch twice (a replay after a commit
        # whose answer was lost) stores each row once.
        if self.postgres:
            values = ", ".join(_json_column_sql(i, c.type) for i, c in enumerate(written))
            self.sql = (
                f"INSERT INTO {table.name} ({', '.join(self.columns)}) "
                f"SELECT {values} FROM {_POSTGRES_SOURCE} ON CONFLICT DO NOTHING"
            )
        else:
            self.sql = (
                f"INSERT INTO {table.name} ({', '.join(self.columns)}) VALUES "
                f"{_ROWS} ON CONFLICT DO NOTHING"
            )

    def __call__(self, row: dict[str, Any]) -> EncodedRow:
        """One row; raises TypeError for a value JSON cannot hold."""
        return self.ordered([row[name] for name in self.columns])

    def ordered(self, values: list[Any]) -> EncodedRow:
        """A row from its column values in order (changes ``values``); raises TypeError for
        a value JSON cannot hold."""
        for i in self._times:
            values[i] = self._time_text(values[i])
        return self.from_values(values)

    def from_values(self, values: list[Any]) -> EncodedRow:
        """A row from its column values in order, times already as text (as :meth:`json`
        gives them back: the event spool's lines). A line an older server spooled lacks
        the newest columns (the last ones): they are left unset."""
        if len(values) < len(self.columns):
            values = [*values, *[None] * (len(self.columns) - len(values))]
        if self.postgres:
            return orjson.dumps(values, option=orjson.OPT_NON_STR_KEYS)
        # What sqlite3 would refuse only at the write, for a whole batch: what JSON cannot hold
        # (TypeError, as for PostgreSQL) and integers beyond 64 bits.
        orjson.dumps([values[i] for i in self._plain])
        for i in self._integers:
            value = values[i]
            if value is not None and not _INT64[0] <= value <= _INT64[1]:
                raise TypeError(f"Integer exceeds 64-bit range: {value}")
        for i in self._json:
            values[i] = _json_text(values[i], orjson.OPT_NON_STR_KEYS)
        return tuple(values)

    def json(self, row: EncodedRow) -> bytes:
        """``row`` as JSON: the list of its column values."""
        if isinstance(row, bytes):
            return row
        values = list(row)
        for i in self._json:
            if values[i] is not None:
                values[i] = orjson.Fragment(values[i])
        return orjson.dumps(values)


_ROWS = "{rows}"
"""Where a SQLite statement's rows go: a multi-row ``VALUES`` list (:func:`_sqlite_values`)."""

_SQLITE_ROWS = 64
"""Rows per SQLite statement at most (others: powers of two below, so a few statements each
stay prepared): 1,216 bound values for a prediction, well under SQLite's 32,766; each
statement gives the GIL up once for all its rows."""

_INT64 = (-(2**63), 2**63 - 1)


def _json_text(value: Any, option: int = 0) -> str | None:
    # A JSON null (None, or a NaN JSON writes as null) is SQL NULL, as on PostgreSQL.
    text = orjson.dumps(value, option=option).decode()
    return None if text == "null" else text


@functools.cache
def _sqlite_statement(sql: str, width: int, rows: int) -> str:
    """``sql`` with a ``VALUES`` list of ``rows`` rows of ``width`` values (built once)."""
    row = "(" + ", ".join("?" * width) + ")"
    return sql.replace(_ROWS, ", ".join([row] * rows))


def _sqlite_values(
    conn: sa.Connection, sql: str, rows: Sequence[Sequence[Any]], *, returning: bool = False
) -> list[tuple[Any, ...]]:
    """Run ``sql`` over ``rows``, up to 64 of them bound in its ``VALUES`` list at a time;
    with ``returning``, the rows its ``RETURNING`` gave."""
    returned: list[tuple[Any, ...]] = []
    start = 0
    while start < len(rows):
        size = 1 << (min(_SQLITE_ROWS, len(rows) - start).bit_length() - 1)
        values = tuple(itertools.chain.from_iterable(rows[start : start + size]))
        result = conn.exec_driver_sql(_sqlite_statement(sql, len(rows[0]), size), values)
        if returning:
            returned.extend(tuple(r) for r in result)
        start += size
    return returned


def insert_encoded(conn: sa.Connection, encoder: RowEncoder, rows: Sequence[EncodedRow]) -> None:
    """Insert rows made by ``encoder``; a row whose primary key is already stored is skipped.

    Few statements, whatever the rows: PostgreSQL reads them all from one bound JSON array;
    SQLite's multi-row ``VALUES`` take 64 at a time. The driver runs each statement without
    the GIL (``executemany`` gives the GIL up and takes it back for every row, and each time,
    the thread serving requests is made to wait for it).
    """
    if not rows:
        return
    if encoder.postgres:
        joined = b"[" + b",".join(rows) + b"]"  # type: ignore[arg-type]  # PostgreSQL's rows are JSON
        conn.exec_driver_sql(encoder.sql, (joined.decode(),))
        return
    _sqlite_values(conn, encoder.sql, rows)


class SumUpsert:
    """Adds rows of sums into ``table`` with few statements (as :func:`insert_encoded`
    inserts): a row whose primary key is stored adds each of its values to the stored one (a
    column of ``latest`` keeps the later of the two), and with no column but the key a stored
    row is left as it is. Call it with each row's values in the order of :attr:`columns` (the
    primary key first); it returns the ``returning`` columns of every row it inserted or
    changed, times as the database stores them (:meth:`stored`).

    The fold pass adds a batch's thousands of sums per table without a round trip per row:
    PostgreSQL reads them from one bound JSON array, SQLite binds 64 rows per statement.
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
        self._json = [i for i, c in enumerate((*keys, *values)) if isinstance(c.type, sa.JSON)]
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
        if self.postgres:
            read = ", ".join(
                _json_column_sql(i, c.type, whole=True) for i, c in enumerate((*keys, *values))
            )
            source = f"SELECT {read} FROM {_POSTGRES_SOURCE}"
        else:
            # VALUES, not SELECT: SQLite would read the ON CONFLICT as a join's ON.
            source = f"VALUES {_ROWS}"
        self.sql = (
            f"INSERT INTO {name} ({', '.join(map(_quoted, self.columns))}) {source} "
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
        json_text = () if self.postgres else self._json  # PostgreSQL's array holds JSON as is
        encoded = []
        for row in rows:
            values = list(row)
            for i in self._times:
                at = values[i]
                if at not in texts:
                    texts[at] = as_text(at)
                values[i] = texts[at]
            for i in json_text:
                values[i] = _json_text(values[i])
            encoded.append(values)
        if not encoded:
            return []
        if self.postgres:
            result = conn.exec_driver_sql(self.sql, (orjson.dumps(encoded).decode(),))
            return [tuple(row) for row in result] if self.returning else []
        return _sqlite_values(conn, self.sql, encoded, returning=self.returning)


def _quoted(name: str) -> str:
    return f'"{name}"'


@functools.cache
def sum_upsert(
    table: sa.Table, dialect: str, latest: tuple[str, ...] = (), returning: tuple[str, ...] = ()
) -> SumUpsert:
    """The :class:`SumUpsert` of ``table`` (built once per arguments)."""
    return SumUpsert(table, dialect, latest=latest, returning=returning)


def _json_column_sql(index: int, column_type: Any, *, whole: bool = False) -> str:
    """PostgreSQL's SQL reading element ``index`` of each row ``e``; ``whole``: an integer
    column may be given as a float with no fraction (a sum)."""
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
    if value.tzinfo is not UTC:
        value = _aware(value).astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]


def _postgres_time(value: datetime | None) -> str | None:
    return None if value is None else _aware(value).isoformat()
