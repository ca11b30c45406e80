"""A spool written before predictions had client_request_id and trace_id (and the stage of a
pipeline endpoint), or shown items their ``at``, still replays."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import sqlalchemy as sa

from champion.events import EventSpool, PredictionEvent, PredictionWriter, ShownItem
from champion.events.tables import prediction_items, predictions
from champion.metrics import Metrics
from champion.services import Services
from champion.settings import Settings
from tests.fixtures.faults import until


def _event(request_id: str) -> PredictionEvent:
    return PredictionEvent(
        request_id=request_id,
        endpoint="churn",
        config_version=1,
        unit="u1",
        unit_randomised=False,
        arm="champion",
        bucket=7,
        model="churn",
        version=1,
        kind="predict",
        inputs=[{"tenure": 3}],
        outputs=[{"score": 0.25}],
        latency_ms=1.5,
        at=datetime(2026, 12, 5, tzinfo=UTC),
        client_request_id="order-1",
        trace_id="0af7651916cd43dd8448eb211c80319c",
        stage="offer",
    )


def _replay(services: Services, settings: Settings, *then: PredictionEvent) -> PredictionWriter:
    """Start a writer on the spool folder, wait until it replayed what is there, then write
    ``then`` and stop."""
    replaying = PredictionWriter(
        services.engine,
        Metrics(),
        queue_size=10,
        batch_size=10,
        flush_seconds=0.02,
        spool=EventSpool(settings.spool_dir, 1 << 20),
    )
    replaying.start()
    try:
        until("the old spool to be replayed", lambda: not replaying.spooling)
        for event in then:
            replaying.submit(event)
    finally:
        replaying.close()
    return replaying


def test_a_spool_line_without_the_new_columns_replays_with_them_unset(
    services: Services, settings: Settings
) -> None:
    # The line an older server spooled: the same row, without the three last values.
    writer = PredictionWriter(
        services.engine, Metrics(), queue_size=10, batch_size=10, flush_seconds=0.02
    )
    [(encoder, row)] = writer._encode(_event("old"))
    old_row = orjson.dumps(orjson.loads(encoder.json(row))[:-3])
    settings.spool_dir.mkdir(parents=True)
    (settings.spool_dir / "1-gone.spool").write_bytes(
        b'[["' + encoder.table.name.encode() + b'",' + old_row + b"]]\n"
    )

    _replay(services, settings, _event("new"))
    with services.engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                predictions.c.request_id,
                predictions.c.unit,
                predictions.c.client_request_id,
                predictions.c.trace_id,
                predictions.c.stage,
            ).order_by(predictions.c.request_id)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("new", "u1", "order-1", "0af7651916cd43dd8448eb211c80319c", "offer"),
        ("old", "u1", None, None, None),
    ]


def test_shown_items_spooled_before_they_carried_their_time_take_their_requests(
    services: Services, settings: Settings
) -> None:
    # An older server spooled items without ``at`` (their last column today).
    event = _event("ranked")._replace(
        kind="rank",
        items=(ShownItem("a", 1, "churn", 1), ShownItem("b", 2, "churn", 1)),
    )
    writer = PredictionWriter(
        services.engine, Metrics(), queue_size=10, batch_size=10, flush_seconds=0.02
    )
    line = [
        [
            encoder.table.name,
            orjson.loads(encoder.json(row))[: -1 if encoder.table is prediction_items else None],
        ]
        for encoder, row in writer._encode(event)
    ]
    settings.spool_dir.mkdir(parents=True)
    (settings.spool_dir / "1-gone.spool").write_bytes(orjson.dumps(line) + b"\n")

    assert _replay(services, settings).dropped == 0
    with services.engine.connect() as conn:
        items = conn.execute(
            sa.select(prediction_items.c.item, prediction_items.c.at).order_by("position")
        ).all()
    assert [tuple(item) for item in items] == [("a", event.at), ("b", event.at)]
