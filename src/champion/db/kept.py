"""One query a background loop runs several times a second, on a connection it keeps.

Through the pool and a transaction a query costs a checkout, the dialect's BEGIN (on SQLite
the transaction's PRAGMAs too), the query, a rollback and a check-in: each a call into the
driver that gives the GIL up and takes it back, and each take while the event loop serves
requests is a forced hand-off, which shows in the tail of the serving process's latency
(``benchmarks/serving_tail.py``: the state poll's share of the p99). A :class:`KeptQuery`
runs its query on one DBAPI connection of its own, detached from the pool, and ends the
transaction the query opened (PostgreSQL: the next run sees a new snapshot).
"""

from __future__ import annotations

import threading
from typing import Any

import sqlalchemy as sa

__all__ = ["KeptQuery"]


class KeptQuery:
    """``query`` (a statement without parameters) on a connection kept between runs; a
    connection that fails is closed and the next run opens another."""

    def __init__(self, engine: sa.Engine, query: sa.Select[Any]) -> None:
        self.engine = engine
        compiled = query.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
        self.sql = str(compiled)
        self._connection: Any = None
        self._lock = threading.Lock()

    def scalar(self) -> Any:
        """The first column of the query's first row (None when it has no row)."""
        with self._lock:
            if self._connection is None:
                connection = self.engine.raw_connection()
                connection.detach()  # its own: never handed to anyone else by the pool
                self._connection = connection
            try:
                cursor = self._connection.cursor()
                try:
                    cursor.execute(self.sql)
                    row = cursor.fetchone()
                finally:
                    cursor.close()
                self._connection.rollback()
            except Exception:
                self._close()
                raise
            return None if row is None else row[0]

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            finally:
                self._connection = None
