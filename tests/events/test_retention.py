"""Retention deletes only folded events past their horizon, with what belongs to them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from champion import audit
from champion.api import create_app
from champion.clock import FixedClock
from champion.db import read
from champion.errors import InvalidInput
from champion.events import Retention
from champion.events.partitions import PARTITIONED, day_partitions
from champion.events.retention import folded
from champion.events.retention_status import oldest_kept
from champion.events.tables import feedback, prediction_items, predictions, shadow_predictions
from champion.services import Services
from champion.settings import Settings
from tests.conftest import ModelFolders, local_client, wait_until_written
from tests.fixtures.faults import until

ROW = {"tenure": 3, "charges": 12.5, "contract": "Month-to-month"}
START = datetime(2026, 3, 1, tzinfo=UTC)
DAY = timedelta(days=1)


@dataclass
class Log:
    """A shadowed classifier (churn) and a ranker (recs) served over HTTP, on a clock that
    moves only when a test moves it."""

    services: Services
    client: TestClient
    clock: FixedClock

    def predict(self, count: int, endpoint: str = "churn") -> list[str]:
        ids = []
        for n in range(count):
            if endpoint == "recs":
                response = self.client.post(
                    "/v1/endpoints/recs/rank", json={"unit": f"u{n}", "k": 3}
                )
            else:
                response = self.client.post(
                    "/v1/endpoints/churn/predict", json={"unit": f"u{n}", "instances": [ROW]}
                )
            assert response.status_code == 200, response.text
            ids.append(response.json()["request_id"])
        wait_until_written(self.client)
        return ids

    def feedback(self, request_id: str, event_id: str) -> None:
        event = {"event_id": event_id, "request_id": request_id, "kind": "click"}
        response = self.client.post("/v1/feedback", json=event)
        assert response.json()["accepted"] == 1, response.text

    def fold(self, table: sa.Table, ids: list[str]) -> None:
        # What the fold pass does once a row's facts are in the aggregates.
        key = table.c.request_id if table is predictions else table.c.event_id
        with self.services.engine.begin() as conn:
            conn.execute(sa.update(table).where(key.in_(ids)).values(folded=True))

    def retention(self, **keep: timedelta | None) -> Retention:
        return Retention(self.services.engine, self.clock, keep, batch_size=3)

    def ids(self, table: sa.Table) -> set[str]:
        key = table.c.event_id if table is feedback else table.c.request_id
        with read(self.services.engine) as conn:
            return set(conn.execute(sa.select(key)).scalars())

    def count(self, table: sa.Table) -> int:
        with read(self.services.engine) as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())

    def advance(self, delta: timedelta) -> None:
        self.clock.at += delta


@pytest.fixture
def log(settings: Settings, model_folder: ModelFolders) -> Iterator[Log]:
    clock = FixedClock(START)
    settings = settings.model_copy(update={"controller": False, "scheduler": False})
    services = Services.open(settings, clock)
    constant = model_folder("constant")
    for alias in ("champion", "challenger"):
        services.registry.register(constant, model="churn", actor="t", aliases_to_set=(alias,))
    services.registry.register(
        model_folder("echo_ranker"), model="recs", actor="t", aliases_to_set=("champion",)
    )
    shadowed = {"champion": "churn@champion", "challenger": "churn@challenger"}
    services.endpoints.set("churn", "shadow", shadowed, actor="t")
    services.endpoints.set("recs", "single", {"version": "recs@champion"}, actor="t")
    with local_client(create_app(settings, clock)) as client:
        if services.engine.dialect.name == "postgresql":
            # The server makes the days around its clock as it starts: wait, so that no test
            # races rows moving out of the default partition.
            until("the server's day partitions", lambda: _made(services, START.date()))
        yield Log(services, client, clock)
    services.close()


def _made(services: Services, day: date) -> bool:
    with read(services.engine) as conn:
        return all(day in day_partitions(conn, table) for table in PARTITIONED)


def test_only_folded_predictions_past_the_horizon_go_with_their_items_and_shadow_answers(
    log: Log,
) -> None:
    old = log.predict(4) + log.predict(4, "recs")
    log.advance(3 * DAY)
    young = log.predict(2) + log.predict(2, "recs")
    assert log.count(prediction_items) == 6 * 3 and log.count(shadow_predictions) == 6
    gone, unfolded = [*old[:2], *old[4:6]], [*old[2:4], *old[6:]]
    log.fold(predictions, gone + young)

    report = log.retention(predictions=2 * DAY).run()

    assert log.ids(predictions) == set(unfolded + young)
    assert log.ids(prediction_items) == set(unfolded[2:] + young[2:])
    assert log.ids(shadow_predictions) == set(unfolded[:2] + young[:2])
    assert report.deleted == {
        "predictions": 4,
        "prediction_items": 2 * 3,
        "shadow_predictions": 2,
        "feedback": 0,
    }
    assert report.cutoffs == {"predictions": START + DAY, "feedback": None}


def test_unfolded_rows_stay_however_old(log: Log) -> None:
    ids = log.predict(3)
    log.feedback(ids[0], "click-0")
    log.advance(400 * DAY)
    report = log.retention(predictions=DAY, feedback=DAY).run()
    assert report.total == 0
    assert log.ids(predictions) == set(ids) and log.ids(feedback) == {"click-0"}


def test_feedback_goes_past_its_horizon_once_its_request_is_gone(log: Log) -> None:
    kept_request, gone_request, unfolded_request = log.predict(3)
    log.feedback(gone_request, "request-gone")
    log.feedback("never-served", "request-never-existed")
    log.feedback(kept_request, "request-kept")
    log.feedback(gone_request, "not-folded")
    log.feedback(unfolded_request, "request-not-folded")
    log.advance(3 * DAY)
    log.feedback(gone_request, "young")
    log.fold(predictions, [gone_request])
    log.fold(feedback, ["request-gone", "request-never-existed", "request-kept", "young"])
    log.fold(feedback, ["request-not-folded"])

    plan = log.retention(predictions=DAY, feedback=DAY).plan()
    report = log.retention(predictions=DAY, feedback=DAY).run()

    # "not-folded" can never be folded now that its request is gone: it goes unfolded, or it
    # would stay forever. Unfolded feedback whose request is kept stays.
    assert log.ids(feedback) == {"request-kept", "request-not-folded", "young"}
    assert report.deleted["feedback"] == 3 and report.deleted["predictions"] == 1
    assert plan.dry_run and plan.deleted == report.deleted


def test_a_pass_takes_as_many_batches_as_it_needs_and_reports_each(log: Log) -> None:
    *ids, unfolded = log.predict(11)  # on PostgreSQL, it keeps the day from going whole
    for n, request in enumerate(ids):
        log.feedback(request, f"click-{n}")
    log.fold(predictions, ids)
    log.fold(feedback, [f"click-{n}" for n in range(10)])
    log.advance(3 * DAY)
    seen: list[tuple[str, int]] = []

    report = log.retention(predictions=DAY, feedback=DAY).run(
        progress=lambda table, rows: seen.append((table, rows))
    )

    assert log.ids(predictions) == log.ids(shadow_predictions) == {unfolded}
    assert log.count(feedback) == 0
    # batch_size=3: 4 batches of predictions (3+3+3+1), then 4 of feedback.
    assert seen == [("predictions", n) for n in (3, 3, 3, 1)] + [
        ("feedback", n) for n in (3, 3, 3, 1)
    ]
    assert report.batches == 8 and report.total == 10 + 10 + 10


def test_feedback_waiting_for_its_request_does_not_stall_the_batches_behind_it(
    log: Log,
) -> None:
    kept = log.predict(7)  # their feedback waits for them
    for n, request in enumerate(kept):
        log.feedback(request, f"a-waits-{n}")
    for n in range(4):
        log.feedback(f"gone-{n}", f"b-goes-{n}")
    log.fold(feedback, [f"a-waits-{n}" for n in range(7)] + [f"b-goes-{n}" for n in range(4)])
    log.advance(3 * DAY)

    report = log.retention(feedback=DAY).run()

    assert report.deleted["feedback"] == 4
    assert log.ids(feedback) == {f"a-waits-{n}" for n in range(7)}


def test_keeping_forever_deletes_nothing(log: Log) -> None:
    ids = log.predict(2)
    log.fold(predictions, ids)
    log.advance(5000 * DAY)
    retention = log.retention(predictions=None, feedback=None)
    assert not retention.enabled
    assert retention.run().total == 0 and log.ids(predictions) == set(ids)


def test_guards_hold_rows_back_and_the_earliest_guard_wins(log: Log) -> None:
    first = log.predict(2)
    log.advance(DAY)
    second = log.predict(2)
    log.fold(predictions, first + second)
    log.advance(10 * DAY)
    allowed: dict[str, datetime | None] = {"drift": None, "other": START + 2 * DAY}
    retention = log.retention(predictions=DAY)
    retention.add_guard("predictions", lambda conn: allowed["drift"], name="drift")
    retention.add_guard("predictions", lambda conn: allowed["other"], name="other")

    assert retention.run().total == 0  # a guard with nothing to allow yet holds everything
    allowed["drift"] = START + DAY / 2
    assert retention.run().deleted["predictions"] == 2
    assert log.ids(predictions) == set(second)
    allowed["drift"] = START + 30 * DAY
    assert retention.run().deleted["predictions"] == 2  # now "other" (+2 d) is the earliest
    with pytest.raises(InvalidInput, match="Unknown table 'shadow_predictions'"):
        retention.add_guard("shadow_predictions", lambda conn: None)


def test_a_pass_that_deleted_something_is_audited(log: Log) -> None:
    ids = log.predict(3)
    log.fold(predictions, ids[:2])
    log.advance(2 * DAY)
    retention = log.retention(predictions=DAY)
    retention.run()
    retention.run()  # nothing left: no second record
    with read(log.services.engine) as conn:
        records = audit.list_audit(conn, action="events.retention")
    assert len(records) == 1
    record = records[0]
    assert (record.actor, record.target, record.at) == ("retention", "events", log.clock.at)
    assert record.details["deleted"]["predictions"] == 2
    assert record.details["keep"] == {"predictions": "1d"}
    assert "predictions older than 1d" in record.reason


def test_the_oldest_kept_rows_are_read_from_both_folded_and_unfolded_rows(log: Log) -> None:
    with read(log.services.engine) as conn:
        assert oldest_kept(conn) == {"predictions": None, "feedback": None}
    first = log.predict(1)
    log.feedback(first[0], "click")
    log.advance(DAY)
    log.predict(1)
    log.fold(predictions, first)
    with read(log.services.engine) as conn:
        assert oldest_kept(conn) == {"predictions": START, "feedback": START}


@pytest.mark.parametrize(
    ("value", "expected"),
    [("30d", timedelta(days=30)), ("12h", timedelta(hours=12)), ("forever", None), ("", None)],
)
def test_retention_settings_take_the_duration_grammar(value: str, expected: Any) -> None:
    assert Settings(keep_predictions=value, keep_feedback=value).keep_predictions == expected


@pytest.mark.parametrize("value", ["30", "30x", "-1d", "0d", "soon"])
def test_a_bad_retention_setting_names_the_setting_and_the_value(value: str) -> None:
    with pytest.raises(ValueError, match=f"'CHAMPION_KEEP_FEEDBACK'.*Got '{value}' instead"):
        Settings(keep_feedback=value)


def test_a_pass_asked_to_stop_ends_after_the_batch_it_is_in(log: Log) -> None:
    *ids, _ = log.predict(8)  # one unfolded: on PostgreSQL, the day cannot go whole
    log.fold(predictions, ids)
    log.advance(3 * DAY)
    stop = threading.Event()

    report = log.retention(predictions=DAY).run(progress=lambda *_: stop.set(), stop=stop)

    assert report.stopped and report.batches == 1
    assert log.count(predictions) == 8 - 3


# SQLite's planner matches a partial index only to a term written as its WHERE is, so the
# plans are read there (PostgreSQL proves the implication itself).
@pytest.mark.parametrize("database_url", [None], ids=["sqlite"])
def test_batches_are_found_through_the_index_of_folded_rows(log: Log) -> None:
    for table, key in ((predictions, predictions.c.request_id), (feedback, feedback.c.event_id)):
        at = predictions.c.at if table is predictions else feedback.c.received_at
        query = (
            sa.select(key)
            .where(folded(table), at < START, sa.tuple_(at, key) > sa.tuple_(START, "x"))
            .order_by(at, key)
            .limit(3)
        )
        compiled = query.compile(log.services.engine, compile_kwargs={"literal_binds": True})
        with read(log.services.engine) as conn:
            plan = " ".join(
                str(row[3]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")
            )
        assert f"USING INDEX ix_{table.name}_folded" in plan, plan
        assert "TEMP B-TREE" not in plan, plan  # no sort: the index gives the order


@pytest.mark.parametrize("database_url", [None], ids=["sqlite"])
def test_the_fold_pass_finds_what_is_left_to_fold_through_its_index(log: Log) -> None:
    for table, at in ((predictions, predictions.c.at), (feedback, feedback.c.received_at)):
        query = (
            sa.select(sa.func.count()).select_from(table).where(sa.not_(table.c.folded), at < START)
        )
        compiled = query.compile(log.services.engine, compile_kwargs={"literal_binds": True})
        with read(log.services.engine) as conn:
            plan = " ".join(
                str(row[3]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")
            )
        assert f"INDEX ix_{table.name}_unfolded" in plan, plan


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_on_postgresql_a_folded_day_past_the_cutoff_is_dropped_whole(log: Log) -> None:
    whole = log.predict(2) + log.predict(2, "recs")  # START's day: all folded, then dropped
    log.feedback(whole[0], "click-whole")
    log.advance(DAY)
    unfolded, folded_beside = log.predict(2)  # one unfolded row keeps its day
    log.advance(DAY)
    guarded = log.predict(2)  # folded, but the guard holds the end of their day back
    log.fold(predictions, [*whole, folded_beside, *guarded])
    log.fold(feedback, ["click-whole"])
    log.advance(5 * DAY)
    retention = log.retention(predictions=DAY, feedback=DAY)
    retention.add_guard("predictions", lambda conn: START + 2.5 * DAY, name="drift days")
    seen: list[tuple[str, int]] = []

    report = retention.run(progress=lambda table, rows: seen.append((table, rows)))

    assert seen[0] == ("predictions", 4)  # the day dropped, before any batch
    # The day before START was made empty by the server, as it makes yesterday's.
    assert report.partitions == ["2026-02-28", "2026-03-01"]
    with read(log.services.engine) as conn:
        for table in PARTITIONED:
            days = day_partitions(conn, table)
            assert date(2026, 3, 1) not in days and date(2026, 3, 2) in days, table
        records = audit.list_audit(conn, action="events.retention.drop_day")
    [record] = [r for r in records if r.details["day"] == "2026-03-01"]
    # The whole day, counted as the batches would count it; the rest went by batches.
    assert record.details == {
        "day": "2026-03-01",
        "deleted": {"predictions": 4, "prediction_items": 2 * 3, "shadow_predictions": 2},
    }
    assert report.deleted == {
        "predictions": 4 + 1 + 2,
        "prediction_items": 2 * 3,
        "shadow_predictions": 2 + 1 + 2,
        "feedback": 1,
    }
    assert log.ids(predictions) == log.ids(shadow_predictions) == {unfolded}
    assert retention.run().total == 0
