"""Compaction merges per-unit rollups of old segments into per-arm totals: every per-arm answer
stays the same, unit-level answers over a compacted window say so, running experiments keep
their units."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from champion import audit
from champion.api import create_app
from champion.clock import FixedClock
from champion.db import read, write
from champion.events import Compaction
from champion.events.rollup_tables import (
    MERGED,
    compacted_segments,
    interleaving_rollups,
    labelled_predictions,
    ranked_clicks,
    rollups,
)
from champion.events.rollups import fold
from champion.events.total_tables import KEPT, arm_moments, unit_totals, version_units
from champion.events.totals_rebuild import rebuild_totals
from champion.events.version_stats import version_stats
from champion.services import Services
from champion.settings import Settings
from tests.conftest import ModelFolders, local_client, wait_until_written
from tests.fixtures import raw_reports as raw

ROW = {"tenure": 3, "charges": 12.5, "contract": "Month-to-month"}
START = datetime(2026, 3, 1, tzinfo=UTC)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


@dataclass
class Log:
    """A canary of two classifier versions (churn) and two interleaved rankers (recs) served
    over HTTP, on a clock that moves only when a test moves it."""

    services: Services
    client: TestClient
    clock: FixedClock

    def serve(self, units: range, *, label: bool = True) -> list[str]:
        """A prediction and a ranking for each unit, a click on every ranking's first item,
        a label on every other prediction."""
        ids = []
        for n in units:
            unit = f"u{n}"
            predicted = self.client.post(
                "/v1/endpoints/churn/predict", json={"unit": unit, "instances": [ROW]}
            )
            ranked = self.client.post("/v1/endpoints/recs/rank", json={"unit": unit, "k": 3})
            assert predicted.status_code == ranked.status_code == 200, predicted.text
            ids.append(predicted.json()["request_id"])
            ranking = ranked.json()
            wait_until_written(self.client)
            events = [
                {
                    "request_id": ranking["request_id"],
                    "kind": "click",
                    "item": ranking["items"][n % 3]["item"],
                }
            ]
            if label and n % 2 == 0:
                events.append(
                    {"request_id": predicted.json()["request_id"], "kind": "label", "label": 1}
                )
            for event in events:
                assert self.client.post("/v1/feedback", json=event).json()["accepted"] == 1
        return ids

    def fold(self) -> None:
        fold(self.services.engine, self.clock.now())

    def compaction(self, keep: timedelta = DAY, batch_size: int = 3) -> Compaction:
        return Compaction(self.services.engine, self.clock, keep, batch_size=batch_size)

    def get(self, path: str, **params: str | int) -> Any:
        response = self.client.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def stats(self, start: datetime, end: datetime, buckets: int | None = None) -> Any:
        params: dict[str, str | int] = {"start": start.isoformat(), "end": end.isoformat()}
        if buckets is not None:
            params["buckets"] = buckets
        body = (
            self.get("/v1/endpoints/recs/stats", **params),
            self.get("/v1/endpoints/churn/stats", **params),
        )
        return [{k: v for k, v in b.items() if k not in ("errors", "compacted")} for b in body]

    def rows(self, table: sa.Table, where: Any = None) -> list[dict[str, Any]]:
        query = sa.select(table) if where is None else sa.select(table).where(where)
        with read(self.services.engine) as conn:
            return [dict(r) for r in conn.execute(query).mappings()]


@pytest.fixture
def log(settings: Settings, model_folder: ModelFolders) -> Iterator[Log]:
    clock = FixedClock(START + HOUR)
    settings = settings.model_copy(
        update={"controller": False, "scheduler": False, "fold_interval_seconds": 0.0}
    )
    services = Services.open(settings, clock)
    constant, ranker = model_folder("constant"), model_folder("echo_ranker")
    for alias in ("champion", "challenger"):
        services.registry.register(constant, model="churn", actor="t", aliases_to_set=(alias,))
        services.registry.register(ranker, model="recs", actor="t", aliases_to_set=(alias,))
    canary = {"champion": "churn@champion", "challenger": "churn@challenger", "share": 0.5}
    services.endpoints.set("churn", "canary", canary, actor="t")
    pair = {"champion": "recs@champion", "challenger": "recs@challenger"}
    services.endpoints.set("recs", "interleave", pair, actor="t")
    with local_client(create_app(settings, clock)) as client:
        yield Log(services, client, clock)
    services.close()


def _two_days(log: Log) -> None:
    """Day 1: units 0-11; day 2: units 6-17 (half of them back); all folded on day 3."""
    log.serve(range(12))
    log.clock.at += DAY
    log.serve(range(6, 18))
    log.clock.at += DAY
    log.fold()


def test_per_arm_answers_over_a_compacted_window_are_the_same_as_before(log: Log) -> None:
    _two_days(log)
    day1, day2, day3 = START, START + DAY, START + 2 * DAY
    before = log.stats(day1, day2, buckets=4), log.stats(day1, day3)

    report = log.compaction().run()

    assert report.segments == 2  # day 1 of both endpoints; day 2 ends after the cutoff
    assert log.stats(day1, day2, buckets=4) == before[0]
    compacted = log.get("/v1/endpoints/churn/stats", start=day1.isoformat())["compacted"]
    assert compacted == [{"start": day1.isoformat(), "end": day2.isoformat()}]
    whole = log.stats(day1, day3)
    # Units are counted once per compacted segment: the six units back on day 2 count twice.
    for found, exact in zip(whole, before[1], strict=True):
        for a, b in zip(found["versions"], exact["versions"], strict=True):
            assert a | {"units": b["units"]} == b
    assert sum(v["units"] for v in whole[1]["versions"]) == 24
    assert sum(v["units"] for v in before[1][1]["versions"]) == 18


def test_a_compacted_segment_holds_one_row_per_arm_and_version(log: Log) -> None:
    _two_days(log)
    day1 = rollups.c.segment_start < START + DAY
    assert len(log.rows(rollups, day1)) > 12

    log.compaction().run()

    merged = log.rows(rollups, day1)
    keys = {
        (r["endpoint"], r["config_version"], r["arm"], r["model"], r["version"]) for r in merged
    }
    assert {r["unit"] for r in merged} == {MERGED}
    assert len(merged) == len(keys) <= 2 * 2  # two endpoints, two versions each
    churn = [r for r in merged if r["endpoint"] == "churn"]
    assert sum(r["units"] for r in churn) == 12 and sum(r["requests"] for r in churn) == 12
    pairs = log.rows(interleaving_rollups, interleaving_rollups.c.segment_start < START + DAY)
    assert [(r["unit"], r["units"], r["impressions"]) for r in pairs] == [(MERGED, 12, 12)]
    # Day 2 stays per unit; the label and click copies of day 1 are gone, day 2's stay.
    assert len(log.rows(rollups, rollups.c.segment_start >= START + DAY)) >= 12
    assert {r["at"].date() for r in log.rows(labelled_predictions)} == {(START + DAY).date()}
    assert {r["at"].date() for r in log.rows(ranked_clicks)} == {(START + DAY).date()}


def test_unit_level_answers_over_a_compacted_window_say_so(log: Log) -> None:
    _two_days(log)
    log.compaction().run()

    window = {"start": START.isoformat(), "end": (START + 2 * DAY).isoformat()}
    answer = log.client.get("/v1/endpoints/recs/interleaving", params=window)
    assert answer.status_code == 410, answer.text
    body = answer.json()["error"]
    assert body["code"] == "Compacted"
    assert (
        "'recs' has per-arm totals only from 2026-03-01 00:00 to 2026-03-02 00:00"
        in (body["message"])
    )
    assert "CHAMPION_KEEP_UNIT_ROLLUPS" in body["message"]
    later = {"start": (START + DAY).isoformat(), "end": (START + 2 * DAY).isoformat()}
    assert log.get("/v1/endpoints/recs/interleaving", **later)


def test_a_running_experiment_keeps_its_units(log: Log) -> None:
    log.serve(range(4))
    log.clock.at += DAY
    started = log.client.put(
        "/v1/endpoints/churn/experiment",
        json={"goal": "click_rate", "cuped": True, "cuped_days": 1},
    )
    assert started.status_code == 200, started.text
    log.serve(range(8))
    log.clock.at += 3 * DAY
    log.fold()
    before = log.get("/v1/endpoints/churn/experiment")

    report = log.compaction().run()

    # recs' two days are compacted; churn's are read by the experiment (its first day as
    # the CUPED pre-period): the day before its start and the rest of that day from it.
    assert report.held == 2 and report.segments == 2
    assert {r["endpoint"] for r in log.rows(compacted_segments)} == {"recs"}
    assert MERGED not in {r["unit"] for r in log.rows(rollups, rollups.c.endpoint == "churn")}
    assert log.get("/v1/endpoints/churn/experiment") == before


def test_a_finished_experiment_over_compacted_rows_keeps_its_decision_and_says_why(
    log: Log,
) -> None:
    started = log.client.put("/v1/endpoints/churn/experiment", json={"goal": "click_rate"})
    assert started.status_code == 200, started.text
    log.clock.at += HOUR
    log.serve(range(6))
    log.clock.at += HOUR
    rolled = log.client.post("/v1/endpoints/churn/experiment/rollback", json={"reason": "enough"})
    assert rolled.status_code == 200, rolled.text
    log.clock.at += 3 * DAY
    log.fold()
    log.compaction().run()

    report = log.get("/v1/endpoints/churn/experiment")
    assert report["status"] == "rolled_back" and report["arms"] == []
    assert "compacted" in report["decision"]["reason"]
    timeline = log.client.get("/v1/endpoints/churn/experiment/timeline")
    assert timeline.status_code == 410 and timeline.json()["error"]["code"] == "Compacted"


def test_late_feedback_on_a_compacted_segment_is_merged_by_the_next_pass(log: Log) -> None:
    ids = log.serve(range(4), label=False)
    log.clock.at += 2 * DAY
    log.fold()
    log.compaction().run()
    day1 = (START.isoformat(), (START + DAY).isoformat())
    before = log.get("/v1/endpoints/churn/stats", start=day1[0], end=day1[1])["versions"]

    for request in ids:
        event = {"request_id": request, "kind": "purchase", "value": 2.5}
        assert log.client.post("/v1/feedback", json=event).json()["accepted"] == 1
    log.fold()
    after = log.get("/v1/endpoints/churn/stats", start=day1[0], end=day1[1])["versions"]
    assert sum(v["purchases"] for v in after) == 4 and sum(v["value"] for v in after) == 10.0
    again = log.compaction().run()

    assert again.segments == 1 and again.rows["rollups"] == 4
    assert log.get("/v1/endpoints/churn/stats", start=day1[0], end=day1[1])["versions"] == after
    assert [v["units"] for v in after] == [v["units"] for v in before]
    assert {r["unit"] for r in log.rows(rollups, rollups.c.endpoint == "churn")} == {MERGED}


def test_a_dry_run_counts_what_a_pass_takes_and_a_pass_is_audited(log: Log) -> None:
    _two_days(log)
    compaction = log.compaction()
    plan = compaction.plan()
    assert plan.dry_run and plan.segments == 2 and plan.total > 0
    assert log.rows(compacted_segments) == []

    report = compaction.run()

    assert report.rows == plan.rows and report.batches >= plan.total // 3
    with read(log.services.engine) as conn:
        records = audit.list_audit(conn, action="events.compaction")
    assert len(records) == 1 and records[0].details["rows"] == report.rows
    assert compaction.run().total == 0  # nothing left to do
    assert len(log.rows(compacted_segments)) == 2


def test_a_pass_asked_to_stop_leaves_the_rest_to_the_next(log: Log) -> None:
    _two_days(log)
    planned = log.compaction().plan()
    stop = threading.Event()

    first = log.compaction().run(progress=lambda table, rows: stop.set(), stop=stop)

    assert first.stopped and first.batches == 1 and first.segments == 0
    rest = log.compaction().run()
    assert not rest.stopped and rest.segments == 2
    assert first.total + rest.total == planned.total
    day1 = START + DAY
    assert {r["unit"] for r in log.rows(rollups, rollups.c.segment_start < day1)} == {MERGED}
    assert log.rows(ranked_clicks, ranked_clicks.c.at < day1) == []
    assert log.rows(labelled_predictions, labelled_predictions.c.at < day1) == []


def test_keeping_unit_rollups_forever_compacts_nothing(log: Log) -> None:
    _two_days(log)
    compaction = Compaction(log.services.engine, log.clock, None)
    assert not compaction.enabled and compaction.run().total == 0


@pytest.mark.parametrize(
    ("value", "expected"), [("5m", timedelta(minutes=5)), ("30d", 30 * DAY), ("forever", None)]
)
def test_the_unit_rollups_setting_takes_the_duration_grammar(
    value: str, expected: timedelta | None
) -> None:
    assert Settings(keep_unit_rollups=value).keep_unit_rollups == expected


def test_bad_compaction_settings_name_the_setting_and_the_value() -> None:
    with pytest.raises(ValueError, match=r"'CHAMPION_KEEP_UNIT_ROLLUPS'.*Got '5x' instead"):
        Settings(keep_unit_rollups="5x")
    with pytest.raises(ValueError, match=r"'CHAMPION_ROLLUP_SEGMENT_SECONDS'.*Got 7000 instead"):
        Settings(rollup_segment_seconds=7000)


def test_segments_of_minutes_are_compacted_minutes_after_they_end(log: Log) -> None:
    # Five-minute segments: with a 5-minute horizon, a segment goes 10 minutes after it began.
    log.serve(range(3))
    log.clock.at += timedelta(minutes=11)
    fold(log.services.engine, log.clock.now(), segment=timedelta(minutes=5))
    compaction = Compaction(
        log.services.engine, log.clock, timedelta(minutes=5), segment=timedelta(minutes=5)
    )
    report = compaction.run()
    assert report.segments == 2
    windows = {(r["segment_start"], r["segment_end"]) for r in log.rows(compacted_segments)}
    assert windows == {(START + HOUR, START + HOUR + timedelta(minutes=5))}


def test_guards_hold_segments_back_as_they_hold_raw_rows(log: Log) -> None:
    _two_days(log)
    compaction = log.compaction()
    compaction.add_guard(lambda conn: None, name="not yet")
    assert compaction.run().total == 0
    compaction.guards = []
    compaction.add_guard(lambda conn: START + HOUR, name="summarised up to one o'clock")
    assert compaction.run().total == 0  # day 1 ends after what the guard allows
    compaction.guards = []
    assert compaction.run().segments == 2


def test_an_experiment_whose_cuped_period_reaches_compacted_rows_is_refused(log: Log) -> None:
    _two_days(log)
    log.compaction().run()
    design = {"goal": "click_rate", "cuped": True, "cuped_days": 3}

    refused = log.client.put("/v1/endpoints/churn/experiment", json=design)

    assert refused.status_code == 410, refused.text
    assert "cuped_days=3" in refused.json()["error"]["message"]
    design["cuped_days"] = 1
    assert log.client.put("/v1/endpoints/churn/experiment", json=design).status_code == 200


def _kept_totals(log: Log) -> list[list[dict[str, Any]]]:
    return [
        sorted(log.rows(t), key=lambda r: tuple(str(r[c.name]) for c in t.primary_key))
        for t in KEPT
    ]


def _all_time_stats(log: Log) -> list[Any]:
    # /stats over all time reads the kept version totals; from the epoch on, the rollups.
    with read(log.services.engine) as conn:
        return [
            (version_stats(conn, e), version_stats(conn, e, datetime(1970, 1, 1, tzinfo=UTC)))
            for e in ("churn", "recs")
        ]


def test_compaction_drops_the_kept_totals_of_compacted_cells_not_a_running_experiments(
    log: Log,
) -> None:
    log.serve(range(4))  # day 1: no experiment
    log.clock.at += DAY
    started = log.clock.now()
    answer = log.client.put("/v1/endpoints/churn/experiment", json={"goal": "click_rate"})
    assert answer.status_code == 200, answer.text
    log.serve(range(2, 8))  # day 2: churn's experiment; units 2 and 3 come back
    log.clock.at += 2 * DAY
    log.fold()
    report = log.get("/v1/endpoints/churn/experiment")
    experiment = unit_totals.c.since == started
    cells = log.rows(unit_totals, experiment), log.rows(arm_moments, arm_moments.c.since == started)
    assert all(cells)
    assert all(kept == rollups for kept, rollups in _all_time_stats(log))

    done = log.compaction().run()

    # recs' two days and churn's day before the experiment are compacted: their cells' unit
    # totals and moments go; the running experiment's stay as they were.
    assert done.segments == 3 and done.kept_totals > 0
    assert log.rows(unit_totals, ~experiment) == []
    assert log.rows(arm_moments, arm_moments.c.since != started) == []
    assert (
        log.rows(unit_totals, experiment),
        log.rows(arm_moments, arm_moments.c.since == started),
    ) == cells
    assert log.get("/v1/endpoints/churn/experiment") == report
    # A unit merged away leaves its version's units unless a per-unit row of it is left;
    # /stats over all time counts as the compacted rollups do.
    assert {r["unit"] for r in log.rows(version_units)} == {f"u{n}" for n in range(2, 8)}
    assert all(kept == rollups for kept, rollups in _all_time_stats(log))

    # Later requests in a compacted cell keep no totals; what is kept is what a rebuild finds.
    log.serve(range(3, 10))
    log.clock.at += DAY
    log.fold()
    assert log.rows(unit_totals, ~experiment) == []
    assert all(kept == rollups for kept, rollups in _all_time_stats(log))
    kept = _kept_totals(log)
    with write(log.services.engine) as conn:
        rebuild_totals(conn)
    raw.close(_kept_totals(log), kept, "kept totals")
