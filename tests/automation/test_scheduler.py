from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from champion.automation import CronSchedule, Scheduler, ScheduleSpec, next_run
from champion.clock import FixedClock
from champion.errors import InvalidInput
from champion.periods import parse_window
from champion.services import Services
from champion.settings import Settings
from tests.automation.trainers import customers, spec, write_batch

START = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)  # a Monday


def test_a_schedule_fires_once_however_many_processes_tick(
    settings: Settings, tmp_path: Path
) -> None:
    clock = FixedClock(START)
    replicas = [Services.open(settings, clock) for _ in range(2)]
    try:
        incoming = tmp_path / "incoming"
        write_batch(incoming, "initial.csv", customers(200, seed=1))
        replicas[0].pipelines.apply(spec(incoming, schedule={"every": "1h"}), actor="alice")
        schedulers = [Scheduler(r.pipelines) for r in replicas]
        assert [s.tick() for s in schedulers] == [[], []]  # the first tick plans the next run
        assert replicas[1].pipelines.get("churn-retrain").next_run_at == START + timedelta(hours=1)
        clock.at = START + timedelta(hours=3, minutes=5)  # missed runs are not caught up

        executed = [s.tick() for s in schedulers]

        runs = replicas[0].pipelines.list_runs("churn-retrain")
        assert len(runs) == 1 and sorted(executed, key=len) == [[], [runs[0].id]]
        assert (runs[0].trigger, runs[0].actor, runs[0].status) == (
            "schedule", "scheduler", "succeeded")  # fmt: skip
        assert runs[0].scheduled_for == START + timedelta(hours=1)
        record = replicas[1].pipelines.get("churn-retrain")
        assert record.next_run_at == START + timedelta(hours=4)
    finally:
        for replica in replicas:
            replica.close()


def test_new_files_trigger_one_run(settings: Settings, tmp_path: Path) -> None:
    services = Services.open(settings, FixedClock(START))
    try:
        incoming = tmp_path / "incoming"
        incoming.mkdir()
        services.pipelines.apply(spec(incoming, on_new_data=True), actor="alice")
        scheduler = Scheduler(services.pipelines)
        assert scheduler.tick() == []
        write_batch(incoming, "initial.csv", customers(200, seed=1))

        first = scheduler.tick()

        runs = services.pipelines.list_runs("churn-retrain")
        assert [r.id for r in runs] == first and runs[0].trigger == "new_data"
        assert runs[0].reason == "1 new file(s): initial.csv" and runs[0].status == "succeeded"
        assert scheduler.tick() == []  # ingested now: nothing new
    finally:
        services.close()


def test_other_services_trigger_runs_with_a_reason(services: Services, tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    write_batch(incoming, "initial.csv", customers(200, seed=1))
    services.pipelines.apply(spec(incoming), actor="alice")
    queued = services.pipelines.trigger(
        "churn-retrain", reason="PSI 0.31 on tenure", actor="drift", trigger="drift"
    )
    assert (queued.status, queued.trigger) == ("queued", "drift")
    with pytest.raises(InvalidInput, match="Unknown trigger 'weather'"):
        services.pipelines.trigger("churn-retrain", reason="", actor="x", trigger="weather")
    assert Scheduler(services.pipelines).tick() == [queued.id]


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("*/15 * * * *", datetime(2026, 1, 1, 10, 7), datetime(2026, 1, 1, 10, 15)),
        ("0 0 1 * *", datetime(2026, 1, 31, 23, 59), datetime(2026, 2, 1, 0, 0)),
        ("0 12 * feb sun", datetime(2026, 1, 1), datetime(2026, 2, 1, 12, 0)),
        ("0 0 29 2 *", datetime(2026, 1, 1), datetime(2028, 2, 29, 0, 0)),
        # day of month OR day of week when both are restricted (Vixie cron)
        ("0 6 13 * 5", datetime(2026, 3, 1), datetime(2026, 3, 6, 6, 0)),
        ("30 9 * * 7", datetime(2026, 3, 2), datetime(2026, 3, 8, 9, 30)),
        ("0 0-6/3 * * *", datetime(2026, 3, 2, 4, 0), datetime(2026, 3, 2, 6, 0)),
    ],
)
def test_cron_next_times(expression: str, after: datetime, expected: datetime) -> None:
    schedule = CronSchedule.parse(expression)
    assert schedule.next_after(after.replace(tzinfo=UTC)) == expected.replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("* * * *", "it needs 5 fields"),
        ("0 24 * * *", "hour 24 is outside 0-23"),
        ("0 0 * * fun", "day of week 'fun' is not a number"),
        ("*/0 * * * *", "minute step must be >= 1"),
        ("5-1 * * * *", "minute range '5-1'"),
        ("0 0 31 2 *", "never fires"),
    ],
)
def test_cron_refuses_bad_expressions(expression: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        CronSchedule.parse(expression).next_after(START)


@pytest.mark.parametrize(
    ("every", "step"),
    [("1w", timedelta(weeks=1)), ("1.5h", timedelta(minutes=90)), ("90s", timedelta(seconds=90))],
)
def test_every_reads_durations_as_every_window_does(every: str, step: timedelta) -> None:
    # One grammar: what --window accepts, a pipeline's schedule accepts too.
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert next_run(ScheduleSpec(every=every), now) == now + step == now + parse_window(every)


def test_a_bad_every_names_the_field() -> None:
    with pytest.raises(ValidationError, match=r"The 'schedule.every' must be a number and a unit"):
        ScheduleSpec(every="0d")
