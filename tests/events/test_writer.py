from __future__ import annotations

import asyncio
import functools
import logging
import math
import threading
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from champion.events import (
    FeedbackCommitter,
    FeedbackEvent,
    PredictionEvent,
    PredictionWriter,
    ShadowEvent,
    ShownItem,
)
from champion.events.tables import (
    feedback,
    prediction_items,
    predictions,
    recorded,
    shadow_predictions,
)
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


def _columns(event: PredictionEvent) -> dict[str, object]:
    return dict(zip(PredictionEvent._fields[:-1], event.values(), strict=True))


def test_a_prediction_event_is_its_row_in_the_tables_column_order() -> None:
    # The writer takes an event's values as the row, by position: a field added to one and
    # not the other, or moved, would store values under the wrong columns.
    written = [c.name for c in predictions.columns if c.server_default is None]
    assert list(PredictionEvent._fields) == [*written, "items"]
    assert _event(7).values() == [getattr(_event(7), name) for name in written]


def test_events_promised_on_a_loop_that_stopped_are_neither_lost_nor_left_behind(
    services: Services,
) -> None:
    # submit_later builds events once the loop is free; a loop may stop first (a server
    # shutting down between a response and that moment), and another may serve after it.
    writer = PredictionWriter(
        services.engine, Metrics(), queue_size=100, batch_size=10, flush_seconds=0.01
    )
    writer.start()

    async def serve(numbers: range, stop: bool) -> None:
        for n in numbers:
            writer.submit_later(functools.partial(_event, n))
        if stop:
            asyncio.get_running_loop().stop()  # before the callback that would build them

    def stopped_after(numbers: range) -> None:
        loop = asyncio.new_event_loop()
        task = loop.create_task(serve(numbers, stop=True))
        loop.run_forever()
        assert task.done()
        loop.close()

    stopped_after(range(3))
    assert writer.pending() == 3
    second = asyncio.new_event_loop()
    second.run_until_complete(serve(range(3, 5), stop=False))
    second.close()
    stopped_after(range(5, 7))
    writer.close()  # builds what the last loop left
    assert writer.pending() == 0
    with services.engine.connect() as conn:
        stored = conn.execute(sa.select(predictions.c.request_id)).scalars().all()
    assert sorted(stored) == [f"r{n}" for n in range(7)]


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


def test_events_read_back_exactly_as_they_were_served(services: Services) -> None:
    # Rows travel to the database as one JSON array: every kind of value must come back as is.
    at = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
    ranking = PredictionEvent(
        request_id="r-rank",
        endpoint="recs",
        config_version=3,
        unit='user \u00e9\u4e16 "quoted" back\\slash',
        unit_randomised=True,
        arm="challenger",
        bucket=None,
        model="recs",
        version=2,
        kind="rank",
        inputs={"context": {"genres": ["Drama", "Sci-Fi"], "n": 2**62, "ok": True}, "k": 3},
        outputs=[["movie-1", 0.25], ["movie-2", None]],
        latency_ms=1.5,
        at=at,
        items=(ShownItem("movie-1", 1, "recs", 2), ShownItem("movie-2", 2, "recs", 1)),
        fallback_from="recs/3",
        probability=0.125,
    )
    whole_second = _event(0)._replace(
        request_id="r-label",
        endpoint="churn",
        bucket=42,
        model="churn",
        inputs=[{"tenure": 3, "plan": "two year", "charges": 19.85, "note": None}],
        outputs=["yes"],
        latency_ms=0.0,
        at=datetime(2026, 3, 4, 5, 6, 8, tzinfo=UTC),
    )
    failed_shadow = ShadowEvent(
        request_id="r-label",
        endpoint="churn",
        model="churn",
        version=2,
        outputs=None,
        error="Version churn/2 failed: ValueError: boom",
        latency_ms=3.25,
        at=at,
    )
    answered_shadow = ShadowEvent(
        request_id="r-rank",
        endpoint="recs",
        model="recs",
        version=4,
        outputs=[{"1": 0.5, "label": 1}],
        error=None,
        latency_ms=2.0,
        at=at,
    )
    writer = PredictionWriter(
        services.engine, Metrics(), queue_size=10, batch_size=10, flush_seconds=0.01
    )
    for event in (ranking, whole_second, failed_shadow, answered_shadow):
        assert writer.submit(event)
    writer.start()
    writer.close()
    with services.engine.connect() as conn:
        served = {
            row.request_id: row._asdict() for row in conn.execute(sa.select(*recorded(predictions)))
        }
        items = conn.execute(
            sa.select(prediction_items).order_by(prediction_items.c.position)
        ).all()
        shadows = {row.version: row for row in conn.execute(sa.select(shadow_predictions))}
    assert served == {e.request_id: _columns(e) for e in (ranking, whole_second)}
    assert [tuple(row) for row in items] == [
        ("r-rank", 1, "movie-1", "recs", 2, at),
        ("r-rank", 2, "movie-2", "recs", 1, at),
    ]
    assert shadows[2].outputs is None
    assert shadows[2].error == failed_shadow.error
    assert shadows[4].outputs == answered_shadow.outputs
    assert shadows[4].at == at
    with services.engine.connect() as conn:  # times compare in SQL as they did before
        later = conn.execute(
            sa.select(predictions.c.request_id).where(predictions.c.at > at)
        ).scalars()
        assert list(later) == ["r-label"]


def test_a_flush_of_any_size_stores_each_row_once_and_a_repeat_adds_nothing(
    services: Services,
) -> None:
    # 150 events of 3 shown items: rows go in statements of several sizes (64, 64, 16, 4, 2
    # predictions; 450 items); the same events written again (a replay) store nothing more.
    events = [
        _event(n)._replace(items=tuple(ShownItem(f"i{n}-{p}", p, "m", 1) for p in (1, 2, 3)))
        for n in range(150)
    ]

    def write_all() -> PredictionWriter:
        writer = PredictionWriter(
            services.engine, Metrics(), queue_size=200, batch_size=200, flush_seconds=0.01
        )
        assert all(writer.submit(event) for event in events)
        writer.start()
        writer.close()
        return writer

    for _ in range(2):
        assert write_all().dropped == 0
        with services.engine.connect() as conn:
            stored = conn.execute(sa.select(predictions.c.request_id, predictions.c.inputs)).all()
            items = conn.execute(sa.select(prediction_items.c.item)).scalars().all()
        assert sorted(stored) == sorted((f"r{n}", [{"x": n}]) for n in range(150))
        assert sorted(items) == sorted(f"i{n}-{p}" for n in range(150) for p in (1, 2, 3))


def test_a_value_the_database_cannot_bind_drops_only_its_event_before_it_is_queued(
    services: Services,
) -> None:
    # A ranker's item id is stored as text: a lone surrogate is no text any database keeps.
    bad = _event(1)._replace(items=(ShownItem("\ud800", 1, "m", 1),))
    huge = _event(2)._replace(bucket=2**64)
    # JSON writes NaN as null: no outputs at all, which the table refuses (dropped alone).
    no_outputs = _event(4)._replace(outputs=math.nan)
    writer = PredictionWriter(
        services.engine, Metrics(), queue_size=10, batch_size=10, flush_seconds=0.01
    )
    events = (_event(0), bad, huge, _event(3), no_outputs)
    accepted = [writer.submit(event) for event in events]
    writer.start()
    writer.close()
    assert accepted == [True, False, False, True, True]
    assert writer.dropped == 3
    with services.engine.connect() as conn:
        stored = conn.execute(sa.select(predictions.c.request_id)).scalars().all()
    assert sorted(stored) == ["r0", "r3"]


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
