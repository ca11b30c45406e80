"""The server's drift-days worker: one pass at a time on the leader, ended when it stops."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from champion.api import create_app
from champion.api.summariser import DaySummariser
from champion.clock import FixedClock
from champion.db import read
from champion.db.locks import LeaderLock
from champion.services import Services
from champion.settings import Settings
from tests.conftest import ModelFolders, local_client
from tests.drift.traffic import customers, register_scorer, serve

NOW = datetime(2026, 3, 5, tzinfo=UTC)


def test_only_the_holder_of_the_lock_summarises(services: Services, settings: Settings) -> None:
    other = LeaderLock(services.engine, "drift-days")
    assert other.acquire()
    summariser = DaySummariser(settings, FixedClock(NOW), services.drift_days)
    try:
        assert summariser.tick() == 0 and summariser._process is None
    finally:
        summariser.close()
        other.release()


def test_stopping_ends_a_running_pass_and_starts_no_other(
    settings: Settings, model_folder: ModelFolders
) -> None:
    clock = FixedClock(NOW + timedelta(hours=9))
    services = _served_at_nine(settings, model_folder, clock)
    # A pass that ran to its end would store that day.
    clock.at = NOW + timedelta(days=2)
    summariser = DaySummariser(settings, clock, services.drift_days)
    answers: list[int] = []
    thread = threading.Thread(target=lambda: answers.append(summariser.tick()))
    thread.start()
    deadline = time.monotonic() + 60
    while summariser._process is None and time.monotonic() < deadline:
        time.sleep(0.01)
    worker = summariser._process
    assert worker is not None
    summariser.stop()  # the worker is still starting up: it is ended before it writes
    thread.join(60)
    assert answers == [0] and not worker.is_alive()
    assert summariser.tick() == 0 and summariser._process is None
    summariser.close()
    with read(services.engine) as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM drift_day_counts").scalar() == 0
    assert services.drift_days.run() == 1
    services.close()


def test_no_worker_process_starts_for_a_pass_with_no_finished_day(
    settings: Settings, model_folder: ModelFolders, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Served today only: the day is not over, so a pass has nothing to write.
    clock = FixedClock(NOW + timedelta(hours=9))
    services = _served_at_nine(settings, model_folder, clock)

    def refuse(method: str) -> None:
        raise AssertionError(f"a worker process was started ({method})")

    monkeypatch.setattr("champion.api.summariser.multiprocessing.get_context", refuse)
    summariser = DaySummariser(settings, clock, services.drift_days)
    try:
        assert summariser.tick() == 0
    finally:
        summariser.close()
        services.close()


def _served_at_nine(settings: Settings, model_folder: ModelFolders, clock: FixedClock) -> Services:
    """A scorer that served 100 customers at ``clock``'s time; its services, open."""
    services = Services.open(settings, clock)
    register_scorer(services, model_folder, customers(500, seed=1))
    with local_client(create_app(settings, clock)) as client:
        serve(client, customers(100, seed=2))
    return services
