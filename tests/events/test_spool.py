"""Prediction events wait in a local spool while the database refuses them; none is lost or
stored twice, and only a full spool drops."""

from __future__ import annotations

import logging
import math
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from champion.events import EventSpool, PredictionWriter
from champion.events.tables import predictions
from champion.metrics import Metrics
from champion.services import Services
from champion.settings import Settings
from tests.events.test_writer import _event
from tests.fixtures.faults import disk_full, small_filesystem, tables_locked, until


def _writer(services: Services, spool: EventSpool | None, metrics: Metrics) -> PredictionWriter:
    return PredictionWriter(
        services.engine, metrics, queue_size=1000, batch_size=100, flush_seconds=0.02, spool=spool
    )


def _stored(services: Services) -> list[str]:
    with services.engine.connect() as conn:
        return list(conn.execute(sa.select(predictions.c.request_id)).scalars())


def _sample(metrics: Metrics, name: str) -> float:
    return metrics.registry.get_sample_value(name) or 0.0


def test_refused_events_wait_in_the_spool_in_order_and_are_replayed_once(
    services: Services, settings: Settings
) -> None:
    metrics = Metrics()
    writer = _writer(services, EventSpool(settings.spool_dir, 1 << 20), metrics)
    writer.start()
    try:
        with tables_locked(settings):
            for n in range(10):
                writer.submit(_event(n))
            until("the refused batch to be spooled", lambda: writer.spooled >= 10)
            assert writer.spooling
            # Events served after the refusal queue up behind the spooled ones, not before.
            for n in range(10, 15):
                writer.submit(_event(n))
            until("later events to join the spool", lambda: writer.spooled == 15)
            [file] = settings.spool_dir.glob("*.spool")
            assert len(file.read_bytes().splitlines()) == 15
            assert file.stat().st_mode & 0o777 == 0o600  # it holds the requests' inputs
        until("the spool to be replayed", lambda: not writer.spooling)
    finally:
        writer.close()
    stored = _stored(services)
    assert sorted(stored) == sorted(f"r{n}" for n in range(15))  # each once
    assert _sample(metrics, "champion_events_spooled_total") == 15
    assert _sample(metrics, "champion_events_replayed_total") == 15
    assert _sample(metrics, "champion_events_dropped_total") == 0
    assert _sample(metrics, "champion_event_spool_bytes") == 0
    assert list(settings.spool_dir.glob("*.spool")) == []  # an empty spool leaves no file


_CRASHING_SERVER = """
import sys
from pathlib import Path
from champion.db import make_engine
from champion.events import EventSpool, PredictionWriter
from champion.metrics import Metrics
from tests.events.test_writer import _event
url, folder = sys.argv[1], Path(sys.argv[2])
writer = PredictionWriter(make_engine(url), Metrics(), queue_size=100, batch_size=100,
                          flush_seconds=0.02, spool=EventSpool(folder, 1 << 20))
writer.start()
for n in range(20):
    writer.submit(_event(n))
while writer.spooled < 20:
    pass
print("spooled", flush=True)
sys.stdin.readline()
"""


def test_a_spool_left_by_a_killed_server_is_replayed_at_the_next_start_without_duplicates(
    services: Services, settings: Settings
) -> None:
    command = [
        sys.executable,
        "-c",
        _CRASHING_SERVER,
        settings.resolved_database_url(),
        str(settings.spool_dir),
    ]
    with tables_locked(settings):
        with subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        ) as server:
            assert server.stdout is not None and server.stdout.readline().strip() == "spooled"
            server.kill()  # SIGKILL: no shutdown hook runs
    # Half of them made it before the crash (say a replay was cut short): stored once anyway.
    early = PredictionWriter(
        services.engine, Metrics(), queue_size=100, batch_size=100, flush_seconds=0.02
    )
    for n in range(0, 20, 2):
        early.submit(_event(n))
    early.start()
    early.close()
    metrics = Metrics()
    writer = _writer(services, EventSpool(settings.spool_dir, 1 << 20), metrics)
    writer.start()
    try:
        until("the left spool to be replayed", lambda: not writer.spooling)
    finally:
        writer.close()
    assert sorted(_stored(services)) == sorted(f"r{n}" for n in range(20))
    assert _sample(metrics, "champion_events_replayed_total") == 20
    assert list(settings.spool_dir.glob("*.spool")) == []


def test_only_a_full_spool_drops_and_every_drop_is_counted_and_logged(
    services: Services, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = Metrics()
    encoder, row = _writer(services, None, Metrics())._encode(_event(0))[0]
    line = len(b'[["predictions",' + encoder.json(row))
    writer = _writer(services, EventSpool(settings.spool_dir, 6 * (line + 8)), metrics)
    writer.start()
    try:
        with caplog.at_level(logging.WARNING, "champion.events"), tables_locked(settings):
            for n in range(10):
                writer.submit(_event(n))
            until("the refused batch to be handled", lambda: writer.spooled + writer.dropped == 10)
            assert writer.dropping and writer.spooling
        until("the spool to be replayed", lambda: not writer.spooling)
    finally:
        writer.close()
    kept = len(_stored(services))
    assert 0 < kept < 10
    assert _sample(metrics, "champion_events_dropped_total") == 10 - kept == writer.dropped
    assert "event spool is full" in caplog.text


def test_a_spool_on_a_full_disk_keeps_its_file_whole_and_counts_the_drop(tmp_path: Path) -> None:
    with small_filesystem(512) as small:
        spool = EventSpool(small / "spool", max_bytes=1 << 30)
        spool.open()
        assert spool.append([b"first", b"second"]) == 2
        with disk_full(small):
            assert spool.append([b"x" * 100_000]) == 0  # ENOSPC: nothing half-written
        [file] = (small / "spool").glob("*.spool")
        assert file.read_bytes() == b"first\nsecond\n"
        assert spool.append([b"third"]) == 1
        stored: list[bytes] = []
        assert spool.replay(stored.extend, batch_size=2) == 3
        assert stored == [b"first", b"second", b"third"]
        spool.close()


def test_a_cut_off_last_event_of_a_crashed_spool_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "1-dead.spool").write_bytes(b"whole\nhalf-writ")
    spool = EventSpool(tmp_path, max_bytes=1 << 20)
    spool.open()
    stored: list[bytes] = []
    assert spool.replay(stored.extend, batch_size=10) == 1
    assert stored == [b"whole"]
    spool.close()
    assert list(tmp_path.iterdir()) == []


def test_an_event_no_database_accepts_is_dropped_alone_and_never_spooled(
    services: Services, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # NaN travels as JSON null into a NOT NULL column: every database refuses that row.
    bad = _event(3)._replace(latency_ms=math.nan)
    metrics = Metrics()
    writer = _writer(services, EventSpool(settings.spool_dir, 1 << 20), metrics)
    for event in [*map(_event, range(3)), bad, *map(_event, range(4, 6))]:
        writer.submit(event)
    with caplog.at_level(logging.WARNING, "champion.events"):
        writer.start()
        writer.close()
    assert sorted(_stored(services)) == ["r0", "r1", "r2", "r4", "r5"]
    assert (writer.dropped, writer.spooled) == (1, 0)
    assert _sample(metrics, "champion_events_dropped_total") == 1
    assert "cannot be stored" in caplog.text


def test_an_event_json_cannot_hold_is_dropped_alone_and_counted(
    services: Services, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # The model's output is stored as served: one JSON cannot hold costs only its own event.
    metrics = Metrics()
    writer = _writer(services, EventSpool(settings.spool_dir, 1 << 20), metrics)
    with caplog.at_level(logging.WARNING, "champion.events"):
        accepted = [
            writer.submit(event)
            for event in (_event(0), _event(1)._replace(outputs=[object()]), _event(2))
        ]
        writer.start()
        writer.close()
    assert accepted == [True, False, True]
    assert sorted(_stored(services)) == ["r0", "r2"]
    assert (writer.dropped, writer.spooled) == (1, 0)
    assert _sample(metrics, "champion_events_dropped_total") == 1
    assert "cannot be stored" in caplog.text


def test_a_replay_in_parts_hands_every_line_over_once_in_order(tmp_path: Path) -> None:
    (tmp_path / "1-dead.spool").write_bytes(b"a\nb\nc\n")
    spool = EventSpool(tmp_path, max_bytes=1 << 20)
    spool.open()
    assert spool.append([b"d", b"e"]) == 2
    stored: list[bytes] = []
    parts = []
    while spool.waiting_bytes:
        parts.append(spool.replay(stored.extend, batch_size=2, limit=2))
    assert stored == [b"a", b"b", b"c", b"d", b"e"]
    # Whole batches: the second part ends the left file ("c") and takes a batch of its own.
    assert parts == [2, 3]
    spool.close()
    assert list(tmp_path.iterdir()) == []
