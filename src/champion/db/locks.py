"""A leader lock: at most one holder at a time among every process sharing the database.

On PostgreSQL it is a session-level advisory lock held on a connection of its own, so it is
released when the holder releases it, closes, or dies (the server ends the session). On
SQLite it is an exclusive ``flock`` on a file beside the database, which every process (and
every other lock object in the same process) honours and the kernel releases when the holder
dies; an in-memory database has no file, so a lock there excludes holders in this process.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import select
import threading
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa

__all__ = ["LeaderLock"]

logger = logging.getLogger("champion.db")

# In-memory SQLite has no file to lock; its locks live with the process, keyed by engine.
_IN_MEMORY: dict[str, threading.Lock] = {}
_IN_MEMORY_GUARD = threading.Lock()


def _key(name: str) -> int:
    # A stable signed 64-bit key (PostgreSQL advisory locks take a bigint).
    digest = hashlib.blake2b(f"champion:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class LeaderLock:
    """Try to become, and stay, the one holder of the lock ``name``.

    ``acquire`` never blocks: it returns whether this object holds the lock now, checking
    that a held lock is still alive (a PostgreSQL connection can drop). Call it before every
    round of leader-only work.

    Examples
    --------
    >>> import sqlalchemy as sa
    >>> engine = sa.create_engine("sqlite://")
    >>> first, second = LeaderLock(engine, "doc"), LeaderLock(engine, "doc")
    >>> first.acquire(), second.acquire()
    (True, False)
    >>> first.release(); second.acquire()
    True
    >>> second.release()
    """

    def __init__(self, engine: sa.Engine, name: str) -> None:
        self.engine = engine
        self.name = name
        self._connection: sa.Connection | None = None
        self._socket: Any = None  # the driver's connection under _connection (psycopg)
        self._file: IO[str] | None = None
        self._memory: threading.Lock | None = None
        # Held while the lock's connection is in use, so that ``still_held`` (called from
        # another thread, by a metrics scrape) never reads its socket mid-query.
        self._busy = threading.Lock()

    @property
    def held(self) -> bool:
        """Whether this object took the lock and has not given it up or seen it lost."""
        return self._connection is not None or self._file is not None or self._memory is not None

    def still_held(self) -> bool:
        """Whether the lock is held at this moment, judged without a query.

        On PostgreSQL a session the server ended (terminated, restarted, timed out) has
        sent its last words and closed its socket, so the socket reads as ready before any
        query notices; ``held`` only learns it at the next ``acquire``. Thread-safe.
        """
        if not self._busy.acquire(blocking=False):
            return self.held  # acquire() or release() is checking right now
        try:
            if self._connection is None:
                return self.held
            return not _session_ended(self._socket)
        finally:
            self._busy.release()

    def acquire(self) -> bool:
        with self._busy:
            if self.engine.dialect.name == "postgresql":
                return self._acquire_postgres()
            database = self.engine.url.database
            if database and database != ":memory:":
                return self._acquire_file(Path(database))
            return self._acquire_memory()

    def _acquire_postgres(self) -> bool:
        if self._connection is not None:
            try:
                self._connection.execute(sa.text("SELECT 1"))
                return True
            except sa.exc.DBAPIError:
                logger.warning("Lost the connection holding leader lock %r", self.name)
                self._drop_connection()
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = conn.execute(
                sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": _key(self.name)}
            ).scalar_one()
        except sa.exc.DBAPIError:
            conn.invalidate()
            conn.close()
            return False
        if got:
            self._connection = conn
            self._socket = conn.connection.driver_connection
            return True
        conn.close()
        return False

    def _acquire_file(self, database: Path) -> bool:
        if self._file is not None:
            return True
        # flock from the standard library, not the filelock package: a few lines, and the
        # lock ends with the process. filelock's one gain, Windows, would need the event
        # spool's and the migrations' flock moved with it: one decision for all three.
        handle = open(database.with_name(f"{database.name}.{self.name}.lock"), "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True

    def _acquire_memory(self) -> bool:
        if self._memory is not None:
            return True
        with _IN_MEMORY_GUARD:
            lock = _IN_MEMORY.setdefault(f"{id(self.engine)}:{self.name}", threading.Lock())
        if lock.acquire(blocking=False):
            self._memory = lock
            return True
        return False

    def release(self) -> None:
        """Give the lock up (a no-op when not held)."""
        with self._busy:
            self._release()

    def _release(self) -> None:
        if self._connection is not None:
            try:
                self._connection.execute(
                    sa.text("SELECT pg_advisory_unlock(:key)"), {"key": _key(self.name)}
                )
                self._connection.close()
            except sa.exc.DBAPIError:
                self._drop_connection()
            self._connection = self._socket = None
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
        if self._memory is not None:
            self._memory.release()
            self._memory = None

    def _drop_connection(self) -> None:
        # Invalidate rather than return it to the pool: the session (and any lock) must end.
        if self._connection is not None:
            self._connection.invalidate()
            self._connection.close()
            self._connection = self._socket = None


def _session_ended(driver: Any) -> bool:
    """Whether the server ended this idle session: anything to read on its socket (the
    FATAL notice, then end of file) means so, since an idle session is sent nothing else."""
    try:
        if driver is None or driver.closed or driver.broken:
            return True
        readable, _, _ = select.select([driver.fileno()], [], [], 0)
    except (OSError, ValueError):  # a closed socket has no file number
        return True
    return bool(readable)
