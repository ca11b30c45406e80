from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext

import champion.db
from champion.db import make_engine, migrate
from champion.evaluation.tables import experiments
from champion.events.partitions import include_name
from champion.events.rollup_tables import rollup_sketches, rollups
from champion.events.slots import kept_since
from champion.events.tables import prediction_items, predictions, shadow_predictions
from champion.events.total_tables import EPOCH, cell_sketches
from champion.events.totals_rebuild import rebuild_totals
from champion.schema import metadata
from champion.services import Services
from champion.settings import Settings

OPTIONS = {"include_name": include_name}  # as the migrations' environment sets it


@pytest.mark.unmigrated
def test_migrations_build_exactly_the_declared_schema(services: Services) -> None:
    with services.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts=OPTIONS), metadata) == []


@pytest.mark.unmigrated
def test_migrating_twice_changes_nothing(services: Services) -> None:
    migrate(services.engine)
    with services.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts=OPTIONS), metadata) == []


def _migrate(engine: sa.Engine, revision: str, *, down: bool = False) -> None:
    config = Config()
    config.set_main_option("script_location", str(Path(champion.db.__file__).parent / "migrations"))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)


FIRST, SECOND = datetime(2026, 11, 20, 23, 59, 59, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC)


def _before_0019(conn: sa.Connection) -> None:
    request = {
        "endpoint": "recs", "config_version": 1, "unit_randomised": False, "arm": "champion",
        "model": "recs", "version": 1, "kind": "rank", "inputs": {}, "outputs": [],
    }  # fmt: skip
    conn.execute(
        sa.insert(predictions),
        [
            {**request, "request_id": "r1", "unit": "u1", "latency_ms": 1.5, "at": FIRST},
            {**request, "request_id": "r2", "unit": "u2", "latency_ms": 2.5, "at": SECOND},
        ],
    )
    conn.execute(sa.update(predictions).where(predictions.c.request_id == "r1").values(folded=True))
    shown = [("r1", 1, "a"), ("r1", 2, "b"), ("r2", 1, "c"), ("gone", 1, "d")]
    conn.execute(
        sa.insert(prediction_items),
        [
            {"request_id": r, "position": n, "item": item, "model": "recs", "version": 1}
            for r, n, item in shown
        ],
    )
    conn.execute(
        sa.insert(shadow_predictions),
        {
            "request_id": "r2",
            "model": "recs",
            "version": 2,
            "endpoint": "recs",
            "outputs": None,
            "error": "boom",
            "latency_ms": 3.0,
            "at": SECOND,
        },
    )


@pytest.mark.unmigrated
def test_0019_keeps_every_event_and_gives_items_their_requests_time(settings: Settings) -> None:
    engine = make_engine(settings.resolved_database_url())
    _migrate(engine, "0018")
    with engine.begin() as conn:
        _before_0019(conn)
    _migrate(engine, "0019")

    def rows(query: str) -> list[tuple[object, ...]]:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.exec_driver_sql(query)]

    requests = "SELECT request_id, latency_ms, folded FROM predictions ORDER BY request_id"
    assert rows(requests) == [("r1", 1.5, True), ("r2", 2.5, False)]
    with engine.connect() as conn:
        items = conn.execute(
            sa.select(
                prediction_items.c.request_id, prediction_items.c.item, prediction_items.c.at
            ).order_by(prediction_items.c.item)
        ).all()
    # The item whose request is gone is not carried over: nothing can reach it.
    assert [tuple(i) for i in items] == [
        ("r1", "a", FIRST),
        ("r1", "b", FIRST),
        ("r2", "c", SECOND),
    ]
    assert rows("SELECT request_id, error FROM shadow_predictions") == [("r2", "boom")]
    if engine.dialect.name == "postgresql":
        where = "SELECT tableoid::regclass::text, request_id FROM predictions ORDER BY 2"
        assert rows(where) == [("predictions_p20261120", "r1"), ("predictions_p20261121", "r2")]
    _migrate(engine, "head")  # the later migrations too, so the schema is the code's
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts=OPTIONS), metadata) == []

    _migrate(engine, "0018", down=True)

    assert rows(requests) == [("r1", 1.5, True), ("r2", 2.5, False)]
    assert rows("SELECT request_id, item FROM prediction_items ORDER BY item") == [
        ("r1", "a"),
        ("r1", "b"),
        ("r2", "c"),
    ]
    if engine.dialect.name == "postgresql":
        assert rows("SELECT relkind::text FROM pg_class WHERE relname = 'predictions'") == [("r",)]
        assert rows("SELECT count(*) FROM pg_class WHERE relname LIKE 'predictions\\_%%'") == [(0,)]
    _migrate(engine, "head")
    engine.dispose()


STARTED, FINISHED = (
    datetime(2026, 11, 20, 10, 30, tzinfo=UTC),
    datetime(2026, 11, 21, 2, tzinfo=UTC),
)


def _histograms(conn: sa.Connection) -> None:
    # Segments before, during and after one experiment: three cells per configuration and arm.
    conn.execute(
        sa.insert(experiments),
        {
            "endpoint": "recs", "design": {}, "status": "promoted", "since_config": 1,
            "started_at": STARTED, "step_started_at": STARTED, "finished_at": FINISHED,
            "revision": 1, "created_by": "t", "updated_at": FINISHED, "updated_by": "t",
        },
    )  # fmt: skip
    segments = [datetime(2026, 11, 20, hour, tzinfo=UTC) for hour in (8, 10, 11, 23)]
    segments.append(datetime(2026, 11, 21, 2, tzinfo=UTC))
    sums = {c.name: 0 for c in rollups.columns if not c.primary_key}
    key = {"endpoint": "recs", "config_version": 1, "arm": "champion", "model": "m", "version": 1}
    conn.execute(sa.insert(rollups), {**key, **sums, "unit": "u", "segment_start": segments[0]})
    conn.execute(
        sa.insert(rollup_sketches),
        [
            {**key, "arm": arm, "version": version, "measure": measure, "bucket": bucket,
             "segment_start": segment, "count": 1 + n}
            for n, segment in enumerate(segments)
            for arm, version in (("champion", 1), ("challenger", 2), ("challenger", 3))
            for measure in ("latency", "delay")
            for bucket in (n, 7)
        ],
    )  # fmt: skip


@pytest.mark.unmigrated
def test_0025_fills_the_cell_histograms_as_a_rebuild_does(settings: Settings) -> None:
    engine = make_engine(settings.resolved_database_url())
    migrate(engine)

    def cells() -> list[tuple[object, ...]]:
        with engine.connect() as conn:
            k = cell_sketches
            return [tuple(row) for row in conn.execute(sa.select(k).order_by(*k.primary_key))]

    with engine.begin() as conn:
        _histograms(conn)
        rebuild_totals(conn)
    rebuilt = cells()
    assert len({row[3] for row in rebuilt}) == 3  # before, during and after the experiment
    _migrate(engine, "0024", down=True)
    _migrate(engine, "head")

    assert cells() == rebuilt
    engine.dispose()


@pytest.mark.unmigrated
def test_0026_keeps_slots_from_the_one_after_the_last_request_folded(settings: Settings) -> None:
    engine = make_engine(settings.resolved_database_url())
    migrate(engine)
    with engine.connect() as conn:
        assert kept_since(conn) == EPOCH  # nothing folded: every slot is kept
    _migrate(engine, "0025", down=True)
    request = {
        "endpoint": "recs", "config_version": 1, "unit_randomised": False, "arm": "champion",
        "model": "recs", "version": 1, "kind": "predict", "inputs": {}, "outputs": [],
        "unit": "u1", "latency_ms": 1.5,
    }  # fmt: skip
    with engine.begin() as conn:
        conn.execute(
            sa.insert(predictions),
            [
                {**request, "request_id": "r1", "at": FIRST, "folded": True},
                {**request, "request_id": "r2", "at": SECOND + timedelta(hours=1), "folded": False},
            ],
        )
    _migrate(engine, "head")

    with engine.connect() as conn:
        assert kept_since(conn) == datetime(2026, 11, 21, tzinfo=UTC)  # FIRST's next slot
    engine.dispose()
