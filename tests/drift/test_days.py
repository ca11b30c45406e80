"""Daily drift windows: drift history over whole days outlives the raw predictions."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from champion.alerts import AlertRule
from champion.api import create_app
from champion.clock import FixedClock
from champion.db import read, write
from champion.drift.days import DriftDays, drift_days_guard
from champion.drift.tables import drift_days
from champion.events.tables import predictions
from champion.services import Services
from champion.settings import Settings
from tests.conftest import ModelFolders, local_client, wait_until_written
from tests.drift.traffic import customers, register_scorer, serve

DAY0 = datetime(2026, 3, 1, tzinfo=UTC)
DAY = timedelta(days=1)
COMPARED = ("column", "method", "statistic", "p_value", "p_adjusted", "threshold", "drifted")


class World:
    def __init__(self, services: Services, client: TestClient, clock: FixedClock) -> None:
        self.services, self.client, self.clock = services, client, clock

    def serve_at(self, at: datetime, rows: int, seed: int, shift: float = 0.0) -> None:
        self.clock.at = at
        serve(self.client, customers(rows, seed=seed, shift=shift))

    def drift(self, start: datetime, end: datetime, **params: Any) -> dict[str, Any]:
        response = self.client.get(
            "/v1/endpoints/churn/drift",
            params={"start": start.isoformat(), "end": end.isoformat(), **params},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def summarise(self, now: datetime) -> int:
        self.clock.at = now
        return self.services.drift_days.run()

    def delete_raw_before(self, at: datetime) -> int:
        with write(self.services.engine) as conn:
            return conn.execute(predictions.delete().where(predictions.c.at < at)).rowcount

    def stored(self) -> dict[datetime, int]:
        with read(self.services.engine) as conn:
            rows = conn.execute(sa.select(drift_days.c.day, drift_days.c.predictions))
            return {day: int(n) for day, n in rows}


@pytest.fixture
def world(settings: Settings, model_folder: ModelFolders) -> Iterator[World]:
    clock = FixedClock(DAY0)
    services = Services.open(settings, clock)
    register_scorer(services, model_folder, customers(3000, seed=1))
    with local_client(create_app(settings, clock)) as client:
        found = World(services, client, clock)
        # Three days: like the reference, newer customers (drift), like the reference again.
        found.serve_at(DAY0 + timedelta(hours=10), 300, seed=2)
        found.serve_at(DAY0 + DAY + timedelta(hours=9), 300, seed=3, shift=1.0)
        found.serve_at(DAY0 + 2 * DAY + timedelta(hours=15), 300, seed=4)
        yield found
    services.close()


def _verdicts(body: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [tuple(column[key] for key in COMPARED) for column in body["columns"]]


def test_day_aligned_windows_are_the_same_after_the_raw_rows_are_deleted(world: World) -> None:
    windows = [(DAY0, DAY0 + 3 * DAY), (DAY0 + DAY, DAY0 + 2 * DAY), (DAY0, DAY0 + 2 * DAY)]
    before = [world.drift(start, end) for start, end in windows]
    assert before[1]["drifted_columns"] and not before[0]["stored_days"]

    assert world.summarise(DAY0 + 3 * DAY + timedelta(hours=2)) == 3
    assert world.stored() == {DAY0: 6, DAY0 + DAY: 6, DAY0 + 2 * DAY: 6}
    assert world.delete_raw_before(DAY0 + 3 * DAY) == 18

    for (start, end), raw in zip(windows, before, strict=True):
        after = world.drift(start, end)
        assert after["stored_days"] == (end - start).days
        assert (after["resolution"], after["rows"]) == ("exact", raw["rows"])
        assert _verdicts(after) == _verdicts(raw)  # every statistic and p-value, exactly
        assert after["quality"] == raw["quality"]
        assert after["drifted_columns"] == raw["drifted_columns"]


def test_a_daily_timeline_is_the_same_after_the_raw_rows_are_deleted(world: World) -> None:
    def timeline() -> dict[str, Any]:
        world.clock.at = DAY0 + 3 * DAY
        response = world.client.get(
            "/v1/endpoints/churn/drift/timeline", params={"window": "1d", "buckets": 3}
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    before = timeline()
    world.summarise(DAY0 + 3 * DAY + timedelta(hours=2))
    world.delete_raw_before(DAY0 + 3 * DAY)
    after = timeline()
    assert [b["rows"] for b in after["buckets"]] == [300, 300, 300]
    assert after["columns"] == before["columns"]  # cells and histograms alike


def test_a_partial_day_whose_rows_are_gone_is_read_as_the_whole_stored_day(world: World) -> None:
    world.summarise(DAY0 + 3 * DAY + timedelta(hours=2))
    start, end = DAY0 + DAY + timedelta(hours=6), DAY0 + DAY + timedelta(hours=12)
    exact = world.drift(start, end)
    assert (exact["resolution"], exact["rows"]) == ("exact", 300)
    assert exact["covered"] == {"start": start.isoformat(), "end": end.isoformat()}

    world.delete_raw_before(DAY0 + 3 * DAY)
    widened = world.drift(start, end)
    assert (widened["resolution"], widened["rows"]) == ("day", 300)
    assert widened["covered"] == {
        "start": (DAY0 + DAY).isoformat(),
        "end": (DAY0 + 2 * DAY).isoformat(),
    }
    assert _verdicts(widened) == _verdicts(world.drift(DAY0 + DAY, DAY0 + 2 * DAY))


def test_days_are_summarised_once_they_are_over_plus_the_grace(world: World) -> None:
    assert world.summarise(DAY0 + 3 * DAY) == 2  # the last day is within its grace
    assert world.summarise(DAY0 + 3 * DAY) == 0
    assert world.summarise(DAY0 + 3 * DAY + timedelta(hours=1)) == 1
    assert world.summarise(DAY0 + 5 * DAY) == 0  # written once: a pass again writes nothing
    assert sorted(world.stored()) == [DAY0, DAY0 + DAY, DAY0 + 2 * DAY]


def test_late_predictions_are_summarised_again(world: World) -> None:
    world.summarise(DAY0 + 3 * DAY + timedelta(hours=2))
    # A spool replayed after an outage: predictions of day 1 written on day 3.
    world.serve_at(DAY0 + DAY + timedelta(hours=20), 100, seed=5, shift=1.0)
    assert world.summarise(DAY0 + 3 * DAY + timedelta(hours=3)) == 1
    assert world.stored()[DAY0 + DAY] == 8
    raw = world.drift(DAY0 + DAY, DAY0 + 2 * DAY)
    world.delete_raw_before(DAY0 + 3 * DAY)
    after = world.drift(DAY0 + DAY, DAY0 + 2 * DAY)
    assert after["rows"] == raw["rows"] == 400
    assert _verdicts(after) == _verdicts(raw)


def test_a_late_prediction_beyond_the_recheck_stays_raw(world: World) -> None:
    world.summarise(DAY0 + 3 * DAY + timedelta(hours=2))
    world.serve_at(DAY0 + timedelta(hours=1), 50, seed=6)
    # Day 0 is more than two days (the default recheck) before this pass.
    assert world.summarise(DAY0 + 3 * DAY + timedelta(hours=3)) == 0
    assert world.stored()[DAY0] == 6


def test_a_day_is_not_summarised_again_from_fewer_rows(world: World) -> None:
    world.summarise(DAY0 + 3 * DAY + timedelta(hours=2))
    before = world.drift(DAY0, DAY0 + DAY)
    with write(world.services.engine) as conn:
        first = conn.execute(sa.select(sa.func.min(predictions.c.at))).scalar_one()
        conn.execute(predictions.delete().where(predictions.c.at == first))
    assert world.services.drift_days.summarise_day("churn", DAY0) == 0
    assert world.stored()[DAY0] == 6
    assert _verdicts(world.drift(DAY0, DAY0 + DAY)) == _verdicts(before)


def test_the_guard_is_the_first_day_not_summarised(world: World) -> None:
    with read(world.services.engine) as conn:
        assert drift_days_guard(conn) == DAY0
    world.summarise(DAY0 + 3 * DAY)
    with read(world.services.engine) as conn:
        assert drift_days_guard(conn) == DAY0 + 2 * DAY
    world.summarise(DAY0 + 4 * DAY)
    with read(world.services.engine) as conn:
        assert drift_days_guard(conn) == DAY0 + 3 * DAY
    world.serve_at(DAY0 + 5 * DAY, 50, seed=7)  # nothing served on days 3 and 4
    with read(world.services.engine) as conn:
        assert drift_days_guard(conn) == DAY0 + 5 * DAY


def test_the_guard_has_nothing_to_keep_without_predictions(services: Services) -> None:
    with read(services.engine) as conn:
        assert drift_days_guard(conn) is None


def test_a_version_without_reference_is_counted_and_still_says_so(
    settings: Settings, model_folder: ModelFolders
) -> None:
    clock = FixedClock(DAY0 + timedelta(hours=1))
    services = Services.open(settings, clock)
    services.registry.register(model_folder("scorer"), model="churn", actor="tests")
    services.endpoints.set("churn", "single", {"version": "churn/1"}, actor="tests")
    with local_client(create_app(settings, clock)) as client:
        serve(client, customers(100, seed=2))
        clock.at = DAY0 + 2 * DAY
        assert services.drift_days.run() == 1
        with write(services.engine) as conn:
            conn.execute(predictions.delete())
        response = client.get(
            "/v1/endpoints/churn/drift",
            params={"start": DAY0.isoformat(), "end": (DAY0 + DAY).isoformat()},
        )
    services.close()
    assert response.status_code == 404 and "no reference profile" in response.text


def test_summarising_streams_in_chunks_with_the_same_windows(world: World) -> None:
    days = world.services.drift_days
    small = DriftDays(days.engine, days.references, days.clock, chunk_events=2)
    world.clock.at = DAY0 + 3 * DAY
    assert days.summarise_day("churn", DAY0 + DAY) == 1
    whole = _state(world, DAY0 + DAY)
    assert small.summarise_day("churn", DAY0 + DAY) == 1
    assert _state(world, DAY0 + DAY) == whole  # 3 round trips instead of 1, same windows


def _state(world: World, day: datetime) -> Any:
    with read(world.services.engine) as conn:
        return conn.execute(
            sa.select(drift_days.c.state).where(drift_days.c.day == day)
        ).scalar_one()


def test_the_server_summarises_finished_days_on_its_leader(
    settings: Settings, model_folder: ModelFolders
) -> None:
    clock = FixedClock(DAY0 + timedelta(hours=10))
    services = Services.open(settings, clock)
    register_scorer(services, model_folder, customers(3000, seed=1))
    with local_client(create_app(settings, clock)) as client:
        serve(client, customers(200, seed=2))
    clock.at = DAY0 + DAY + timedelta(hours=2)
    looping = settings.model_copy(update={"drift_days_interval_seconds": 0.2})
    app = create_app(looping, clock)
    with local_client(app) as client:
        deadline = time.monotonic() + 120
        while not _days(services) and time.monotonic() < deadline:
            time.sleep(0.2)
        leader = app.state.champion_summariser.lock.held
    assert _days(services) == {DAY0: 4} and leader
    services.close()


def _days(services: Services) -> dict[datetime, int]:
    with read(services.engine) as conn:
        rows = conn.execute(sa.select(drift_days.c.day, drift_days.c.predictions))
        return {day: int(n) for day, n in rows}


def test_hourly_buckets_over_deleted_days_say_their_resolution(world: World) -> None:
    world.summarise(DAY0 + 3 * DAY + timedelta(hours=2))
    world.delete_raw_before(DAY0 + 2 * DAY)
    world.clock.at = DAY0 + 3 * DAY
    response = world.client.get(
        "/v1/endpoints/churn/drift/timeline", params={"window": "6h", "buckets": 8}
    )
    assert response.status_code == 200, response.text
    buckets = response.json()["buckets"]
    # Day 1 is stored only: each of its buckets compares the whole day; day 2 is still raw.
    assert [b["resolution"] for b in buckets] == ["day"] * 4 + ["exact"] * 4
    assert [b["rows"] for b in buckets] == [300] * 4 + [0, 0, 300, 0]


def test_days_counted_on_a_replaced_reference_are_summarised_again(world: World) -> None:
    world.summarise(DAY0 + 3 * DAY + timedelta(hours=2))
    world.services.references.compute(
        "churn/1", customers(3000, seed=9, shift=0.5), actor="tests", replace=True
    )
    raw = world.drift(DAY0, DAY0 + 3 * DAY)
    assert world.summarise(DAY0 + 3 * DAY + timedelta(hours=3)) == 3
    world.delete_raw_before(DAY0 + 3 * DAY)
    after = world.drift(DAY0, DAY0 + 3 * DAY)
    assert after["stored_days"] == 3 and after["rows"] == 900
    assert _verdicts(after) == _verdicts(raw)


def test_days_of_rankings_are_passed_over_and_do_not_hold_retention_back(
    settings: Settings, model_folder: ModelFolders
) -> None:
    clock = FixedClock(DAY0 + timedelta(hours=8))
    services = Services.open(settings, clock)
    services.registry.register(model_folder("echo_ranker"), model="recs", actor="tests")
    services.endpoints.set("recs", "single", {"version": "recs/1"}, actor="tests")
    with local_client(create_app(settings, clock)) as client:
        for unit in ("u1", "u2"):
            response = client.post("/v1/endpoints/recs/rank", json={"unit": unit, "k": 2})
            assert response.status_code == 200, response.text
        wait_until_written(client)
    clock.at = DAY0 + 2 * DAY
    assert services.drift_days.run() == 1  # the day is marked, with no drift rows
    assert services.drift_days.run() == 0
    with read(services.engine) as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(drift_days)).scalar() == 0
        assert drift_days_guard(conn) == DAY0 + DAY
    services.close()


def test_a_drift_alert_rule_sees_days_whose_raw_rows_are_gone(world: World) -> None:
    world.summarise(DAY0 + 3 * DAY + timedelta(hours=2))
    world.delete_raw_before(DAY0 + 3 * DAY)
    alerts = world.services.alerts
    rule = AlertRule.create(
        "churn-drift", endpoint="churn", metric="drift_share", threshold=0.3, window="1d",
        cooldown="1h", severity="warning", sinks=[{"type": "log"}],
    )  # fmt: skip
    alerts.put_rule(rule, actor="tests")
    world.clock.at = DAY0 + 2 * DAY  # the rule's window is day 1: newer customers
    opened = alerts.evaluate()
    alerts.flush()
    assert [(a.rule, a.state) for a in opened] == [("churn-drift", "open")]
    assert opened[0].value >= 0.5


def test_the_server_guard_also_keeps_the_days_still_rechecked(world: World) -> None:
    world.summarise(DAY0 + 3 * DAY + timedelta(hours=2))
    with read(world.services.engine) as conn:
        assert drift_days_guard(conn) == DAY0 + 3 * DAY
        assert world.services.drift_days.guard(conn) == DAY0 + DAY  # 2 days of recheck
        world.clock.at = DAY0 + 9 * DAY
        assert world.services.drift_days.guard(conn) == DAY0 + 3 * DAY


def test_days_on_a_replaced_reference_whose_rows_are_gone_are_not_compared(
    world: World,
) -> None:
    world.summarise(DAY0 + 3 * DAY + timedelta(hours=2))
    world.delete_raw_before(DAY0 + 3 * DAY)
    world.services.references.compute(
        "churn/1", customers(3000, seed=9, shift=0.5), actor="tests", replace=True
    )
    assert world.summarise(DAY0 + 3 * DAY + timedelta(hours=3)) == 0
    body = world.drift(DAY0, DAY0 + 3 * DAY)
    assert (body["rows"], body["stored_days"], body["columns"]) == (0, 0, [])
