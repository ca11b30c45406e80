"""The leader lock: one holder among every engine and process sharing the database."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from champion.db import make_engine
from champion.db.locks import LeaderLock
from champion.services import Services
from champion.settings import Settings


def _engine(settings: Settings) -> sa.Engine:
    return make_engine(settings.resolved_database_url())


def test_one_holder_at_a_time_across_engines(services: Services, settings: Settings) -> None:
    other_engine = _engine(settings)
    first, second = LeaderLock(services.engine, "test"), LeaderLock(other_engine, "test")
    try:
        assert first.acquire() and first.acquire()  # re-acquiring a held lock keeps it
        assert not second.acquire() and not second.held
        independent = LeaderLock(other_engine, "another-name")
        assert independent.acquire()
        independent.release()
        first.release()
        assert second.acquire() and not first.acquire()
    finally:
        first.release()
        second.release()
        other_engine.dispose()


_HOLDER = """
import sys, time
from champion.db import make_engine
from champion.db.locks import LeaderLock
lock = LeaderLock(make_engine(sys.argv[1]), "test")
print("held" if lock.acquire() else "refused", flush=True)
sys.stdin.readline()
"""


def test_a_lock_held_by_another_process_is_refused_and_freed_when_it_dies(
    services: Services, settings: Settings
) -> None:
    command = [sys.executable, "-c", _HOLDER, settings.resolved_database_url()]
    lock = LeaderLock(services.engine, "test")
    with subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as holder:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert not lock.acquire()
        holder.kill()  # no clean release: the kernel or the database server frees the lock
    deadline = time.monotonic() + 10
    while not lock.acquire() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert lock.held
    lock.release()


# Only PostgreSQL holds the lock on a connection that can drop: no SQLite case.
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_leader_that_loses_its_connection_stops_leading(
    services: Services, settings: Settings
) -> None:
    lock = LeaderLock(services.engine, "test")
    assert lock.acquire()
    admin = _engine(settings)
    try:
        with admin.connect() as conn:
            conn.execute(
                sa.text(
                    # Only this test's database: other sessions on the server are not ours.
                    "SELECT pg_terminate_backend(pid) FROM pg_locks "
                    "WHERE locktype = 'advisory' AND pid <> pg_backend_pid() AND database = "
                    "(SELECT oid FROM pg_database WHERE datname = current_database())"
                )
            )
            conn.commit()
        other = LeaderLock(admin, "test")
        deadline = time.monotonic() + 10
        while not other.acquire() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert other.held
        assert not lock.acquire() and not lock.held  # it notices, and does not act
        other.release()
        assert lock.acquire()
        lock.release()
    finally:
        admin.dispose()
