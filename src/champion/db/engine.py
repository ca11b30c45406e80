"""make_engine(url): SQLite in WAL mode with a busy timeout, or PostgreSQL through psycopg 3."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from champion.errors import MissingExtra

__all__ = ["make_engine", "read", "write"]

_IMMEDIATE = "champion_immediate"
_DURABLE = "champion_durable"
_LOCK_WAIT = "champion_lock_wait_ms"
_DEFAULT_LOCK_WAIT_MS = 30_000


def make_engine(url: str) -> sa.Engine:
    """Create the engine for ``url``; SQLite files and their folder are created on demand."""
    if url.startswith("postgresql"):
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise MissingExtra(
                "PostgreSQL needs the postgres extra: pip install 'champion[postgres]'"
            ) from None
        return sa.create_engine(
            url, pool_size=10, max_overflow=20, pool_pre_ping=True, json_serializer=_json
        )
    if url.startswith("sqlite"):
        database = sa.make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            json_serializer=_json,
        )
        _configure_sqlite(engine)
        return engine
    return sa.create_engine(url)


def _json(value: Any) -> str:
    # Every prediction event carries JSON inputs and outputs; orjson is ~10x faster than json.
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _configure_sqlite(engine: sa.Engine) -> None:
    # pysqlite's implicit transactions start only at the first write, which lets two writers
    # interleave a read and a write; take over BEGIN so write() can ask for BEGIN IMMEDIATE.
    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={_DEFAULT_LOCK_WAIT_MS}")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        options = connection.get_execution_options()
        # FULL: the commit survives a crash of the process and of the machine (what
        # acknowledged feedback and registry changes need). NORMAL, in WAL mode, survives a
        # crash of the process but may lose the last commits on power loss; it spares the
        # prediction log an fsync per batch.
        durable = options.get(_DURABLE, True)
        connection.exec_driver_sql(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        wait = options.get(_LOCK_WAIT, _DEFAULT_LOCK_WAIT_MS)
        if wait != _DEFAULT_LOCK_WAIT_MS or connection.info.get(_LOCK_WAIT):
            # Set per transaction, and put back after one that shortened it: the pool
            # hands the connection to writers that wait the full time.
            connection.exec_driver_sql(f"PRAGMA busy_timeout={wait}")
            connection.info[_LOCK_WAIT] = wait != _DEFAULT_LOCK_WAIT_MS
        connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get(_IMMEDIATE) else "BEGIN")


@contextmanager
def write(
    engine: sa.Engine, *, durable: bool = True, lock_wait: float | None = None
) -> Iterator[sa.Connection]:
    """A write transaction: committed on success, rolled back on any error.

    On SQLite it takes the write lock up front, so a read-then-write transaction cannot fail
    halfway with "database is locked". ``durable=False`` (the prediction log only) lets SQLite
    skip the fsync: the commit survives a crash of the server, not a power loss.
    ``lock_wait`` (seconds) bounds how long it waits for a lock another writer holds (30 s
    by default on SQLite; no bound on PostgreSQL) before the database raises.
    """
    options: dict[str, object] = {_IMMEDIATE: True, _DURABLE: durable}
    if lock_wait is not None:
        options[_LOCK_WAIT] = max(1, round(lock_wait * 1000))
    with engine.connect().execution_options(**options) as conn, conn.begin():
        if lock_wait is not None and conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = {options[_LOCK_WAIT]}")
        yield conn


@contextmanager
def read(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A read-only transaction with one consistent snapshot.

    SQLite's WAL gives one from the first read; PostgreSQL needs REPEATABLE READ (its
    default, READ COMMITTED, takes a new snapshot per statement), so a report's queries see
    a fold pass that commits meanwhile entirely or not at all, never half.
    """
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn
