from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from champion.events import FeedbackCommitter, FeedbackEvent, PredictionEvent, PredictionWriter
from champion.events.tables import feedback, predictions
from champion.metrics import Metrics
from champion.services import Services

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _event(n: int) -> PredictionEvent:
    return PredictionEvent(
        request_id=f"r{n}",
        endpoint="e",
        config_version=1,
        unit=f"u{n}",
        unit_randomised=False,
        arm="champion",
        bucket=1,
        model="m",
        version=1,
        kind="predict",
        inputs=[{"x": n}],
        outputs=[n],
        latency_ms=0.1,
        at=NOW,
    )


def test_a_full_queue_drops_counts_and_logs_without_blocking(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = Metrics()
    writer = PredictionWriter(
        services.engine, metrics, queue_size=2, batch_size=10, flush_seconds=0.01
    )
    with caplog.at_level(logging.WARNING, "champion.events"):
        accepted = [writer.submit(_event(n)) for n in range(5)]  # not started: nothing drains
    assert accepted == [True, True, False, False, False]
    assert metrics.registry.get_sample_value("champion_events_dropped_total") == 3
    assert "queue is full" in caplog.text
    writer.start()
    writer.close()
    with services.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(predictions)).scalar() == 2


def test_concurrent_feedback_shares_commits_and_is_all_stored(services: Services) -> None:
    commits = 0

    @sa.event.listens_for(services.engine, "commit")
    def _count(conn: sa.Connection) -> None:
        nonlocal commits
        commits += 1

    committer = FeedbackCommitter(services.engine, services.clock, Metrics(), batch_size=1000)
    committer.start()
    futures = []
    lock = threading.Lock()

    def send(worker: int) -> None:
        for n in range(25):
            event = FeedbackEvent(event_id=f"{worker}-{n}", request_id="r", kind="click", at=NOW)
            future = committer.submit([event])
            with lock:
                futures.append(future)

    threads = [threading.Thread(target=send, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    receipts = [future.result(timeout=30) for future in futures]
    committer.close()
    assert sum(len(r.accepted) for r in receipts) == 200
    assert commits < 200  # group commit: many submissions, fewer transactions
    with services.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(feedback)).scalar() == 200
