"""On PostgreSQL each prediction row lands in its UTC day's partition; days are made ahead,
and a row with no day partition waits in the DEFAULT one until its day is made."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from champion.api import create_app
from champion.clock import FixedClock
from champion.events import PredictionEvent, PredictionWriter, ShadowEvent, ShownItem
from champion.events.partitions import DAYS_AHEAD, PARTITIONED, day_partitions, make_days
from champion.metrics import Metrics
from champion.services import Services
from champion.settings import Settings
from tests.conftest import local_client
from tests.fixtures.faults import until

postgres_only = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
DAY = date(2026, 3, 1)
AT = datetime(2026, 3, 1, 23, 59, 59, 999999, tzinfo=UTC)  # the last instant of DAY


def _event(request_id: str, at: datetime) -> PredictionEvent:
    return PredictionEvent(
        request_id=request_id,
        endpoint="recs",
        config_version=1,
        unit="u1",
        unit_randomised=False,
        arm="champion",
        bucket=1,
        model="recs",
        version=1,
        kind="rank",
        inputs={"context": {}, "k": 2},
        outputs=[["a", 1.0], ["b", 0.5]],
        latency_ms=1.0,
        at=at,
        items=(ShownItem("a", 1, "recs", 1), ShownItem("b", 2, "recs", 1)),
    )


def _shadow(request_id: str, at: datetime) -> ShadowEvent:
    return ShadowEvent(request_id, "recs", "recs", 2, [["b", 1.0]], None, 2.0, at)


def _write(services: Services, *events: PredictionEvent | ShadowEvent) -> None:
    writer = PredictionWriter(
        services.engine, Metrics(), queue_size=100, batch_size=100, flush_seconds=0.01
    )
    for event in events:
        assert writer.submit(event)
    writer.start()
    writer.close()
    assert writer.dropped == 0


def _where(services: Services, table: str) -> dict[str, list[str]]:
    """Per partition of ``table``, the request ids it holds."""
    found: dict[str, list[str]] = {}
    with services.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            f"SELECT tableoid::regclass::text, request_id FROM {table} ORDER BY 1, 2"
        )
        for partition, request_id in rows:
            found.setdefault(partition, []).append(request_id)
    return found


@postgres_only
def test_each_row_lands_in_its_days_partition_and_a_day_without_one_in_the_default(
    services: Services,
) -> None:
    make_days(services.engine, DAY, ahead=1)
    _write(
        services,
        _event("last-instant", AT),
        _shadow("last-instant", AT),
        _event("next-day", AT + timedelta(microseconds=1)),
        _event("far-future", AT + timedelta(days=30)),
    )

    assert _where(services, "predictions") == {
        "predictions_p20260301": ["last-instant"],
        "predictions_p20260302": ["next-day"],
        "predictions_default": ["far-future"],
    }
    # Items take their request's ``at``, so a request and its items share a day.
    assert _where(services, "prediction_items") == {
        "prediction_items_p20260301": ["last-instant"] * 2,
        "prediction_items_p20260302": ["next-day"] * 2,
        "prediction_items_default": ["far-future"] * 2,
    }
    assert _where(services, "shadow_predictions") == {
        "shadow_predictions_p20260301": ["last-instant"]
    }


@postgres_only
def test_a_day_made_later_takes_its_rows_out_of_the_default_partition(
    services: Services,
) -> None:
    later = AT + timedelta(days=30)
    _write(services, _event("early", later))
    assert _where(services, "predictions") == {"predictions_default": ["early"]}

    made = make_days(services.engine, later.date(), ahead=0)

    assert "predictions_p20260331" in made and "predictions_p20260330" in made
    assert _where(services, "predictions") == {"predictions_p20260331": ["early"]}
    assert _where(services, "prediction_items") == {"prediction_items_p20260331": ["early"] * 2}
    assert make_days(services.engine, later.date(), ahead=0) == []  # made once


@postgres_only
def test_a_replayed_event_is_stored_once(services: Services) -> None:
    # A replay carries the event's original time, so it meets its first copy's key.
    make_days(services.engine, DAY)
    event, shadow = _event("r1", AT), _shadow("r1", AT)
    _write(services, event, shadow)
    _write(services, event, shadow, event._replace(request_id="r2"))

    assert _where(services, "predictions") == {"predictions_p20260301": ["r1", "r2"]}
    assert _where(services, "prediction_items") == {
        "prediction_items_p20260301": ["r1", "r1", "r2", "r2"]
    }
    assert _where(services, "shadow_predictions") == {"shadow_predictions_p20260301": ["r1"]}


@postgres_only
def test_a_server_makes_the_days_around_its_clock_as_it_starts(settings: Settings) -> None:
    clock = FixedClock(datetime(2031, 7, 1, 12, tzinfo=UTC))
    wanted = {date(2031, 7, 1) + timedelta(days=n) for n in range(-1, DAYS_AHEAD + 1)}
    with local_client(create_app(settings, clock)) as client:
        engine = client.app.state.champion.services.engine  # type: ignore[attr-defined]  # set by the lifespan

        def made() -> bool:
            with engine.connect() as conn:
                return all(wanted <= set(day_partitions(conn, table)) for table in PARTITIONED)

        until("the days around the server's clock to be made", made)
