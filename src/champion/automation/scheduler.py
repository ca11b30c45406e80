"""The scheduler: due schedules, new data and queued runs, one tick at a time.

A server calls :meth:`Scheduler.tick` every few seconds from a background task; tests call
it with a clock they move. Every decision is a row claim, so any number of processes can
tick at once and each scheduled run, new-data trigger and queued run happens exactly once:

* a due schedule moves ``pipelines.next_run_at`` on with ``UPDATE ... WHERE next_run_at =
  <the value read>`` and queues the run in the same transaction;
* new files are fingerprinted, and the set of unseen ones moves ``new_data_token`` the same
  way, so one set of files triggers one run;
* an open alert of a rule in ``on_alert`` is answered by one run, recorded in
  ``pipeline_alerts`` (see :mod:`champion.automation.triggers`);
* a queued run is executed by the process whose ``UPDATE ... WHERE status = 'queued'`` matched;
* a running run whose lease ran out is taken over and resumed.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from champion.automation.cron import CronSchedule
from champion.automation.pipelines import PipelineRecord, Pipelines
from champion.automation.spec import ScheduleSpec
from champion.automation.tables import pipeline_runs, pipelines
from champion.automation.triggers import answer_alerts
from champion.db import read, write
from champion.errors import ChampionError, Conflict
from champion.periods import parse_window

__all__ = ["Scheduler", "next_run"]

logger = logging.getLogger("champion.automation")


def next_run(schedule: ScheduleSpec, after: datetime, previous: datetime | None = None) -> datetime:
    """When a schedule fires next after ``after``.

    ``every`` keeps its rhythm from ``previous`` (runs missed while nothing ticked are
    skipped, not caught up); ``cron`` fires at its next matching minute.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    >>> next_run(ScheduleSpec(every="6h"), now).isoformat()
    '2026-01-01T18:00:00+00:00'
    >>> later = datetime(2026, 1, 2, 1, 0, tzinfo=UTC)
    >>> next_run(ScheduleSpec(every="6h"), later, previous=now).isoformat()
    '2026-01-02T06:00:00+00:00'
    """
    if schedule.cron is not None:
        return CronSchedule.parse(schedule.cron).next_after(after)
    assert schedule.every is not None  # a ScheduleSpec has exactly one of the two
    step = parse_window(schedule.every, "schedule.every")
    if previous is None:
        return after + step
    missed = max(0, int((after - previous) / step))
    return previous + step * (missed + 1)


class Scheduler:
    """Runs what is due. ``tick()`` returns the ids of the runs it executed."""

    def __init__(self, pipelines: Pipelines) -> None:
        self.pipelines = pipelines
        self.clock = pipelines.clock
        self.engine = pipelines.engine
        # (path, size, mtime) → sha256: hashing every file on every tick would be wasteful.
        self._digests: dict[tuple[str, int, int], str] = {}

    def tick(self) -> list[int]:
        for record in self.pipelines.list_pipelines():
            try:
                if record.spec.schedule is not None:
                    self._schedule(record, record.spec.schedule)
                if record.spec.on_new_data:
                    self._new_data(record)
                if record.spec.on_alert is not None:
                    answer_alerts(
                        self.engine, self.pipelines.runs, self.clock,
                        record.name, record.revision, record.spec,
                    )  # fmt: skip
            except ChampionError as exc:
                logger.error("Pipeline %r: %s", record.name, exc.message)
        executed = []
        for run_id in self.pipelines.claims.stale():
            logger.warning("Run %s lost its process; resuming it here", run_id)
            executed.append(self.pipelines.execute_claimed(run_id).id)
        for run_id in self.pipelines.runs.queued():
            try:
                executed.append(self.pipelines.execute(run_id).id)
            except Conflict:
                continue  # another process claimed it first
        return executed

    def _schedule(self, record: PipelineRecord, schedule: ScheduleSpec) -> None:
        now = self.clock.now()
        due = record.next_run_at
        where = pipelines.c.name == record.name
        if due is None:
            with write(self.engine) as conn:
                conn.execute(
                    pipelines.update()
                    .where(where & pipelines.c.next_run_at.is_(None))
                    .values(next_run_at=next_run(schedule, now))
                )
            return
        if now < due:
            return
        with write(self.engine) as conn:
            moved = conn.execute(
                pipelines.update()
                .where(where & (pipelines.c.next_run_at == due))
                .values(next_run_at=next_run(schedule, now, previous=due))
            ).rowcount
            if moved == 1:
                what = schedule.cron or f"every {schedule.every}"
                self._queue(
                    conn, record, "schedule", f"scheduled ({what}) for {due.isoformat()}", due
                )

    def _new_data(self, record: PipelineRecord) -> None:
        source = self.pipelines.source(record.spec.source_name)
        pending = self.pipelines.ingestion.pending(source, self._digests)
        if not pending:
            return
        token = hashlib.sha256(",".join(sorted(d for _, d in pending)).encode()).hexdigest()
        if token == record_token(self.engine, record.name):
            return
        where = pipelines.c.name == record.name
        with write(self.engine) as conn:
            busy = conn.execute(
                sa.select(sa.func.count()).where(
                    (pipeline_runs.c.pipeline == record.name)
                    & pipeline_runs.c.status.in_(("queued", "running"))
                )
            ).scalar_one()
            if busy:
                return  # the run under way ingests these files, or the next one will
            moved = conn.execute(
                pipelines.update()
                .where(
                    where
                    & ((pipelines.c.new_data_token != token) | pipelines.c.new_data_token.is_(None))
                )
                .values(new_data_token=token)
            ).rowcount
            if moved == 1:
                names = ", ".join(Path(p).name for p, _ in pending[:5])
                more = f" and {len(pending) - 5} more" if len(pending) > 5 else ""
                self._queue(conn, record, "new_data", f"{len(pending)} new file(s): {names}{more}")

    def _queue(
        self,
        conn: sa.Connection,
        record: PipelineRecord,
        trigger: str,
        reason: str,
        scheduled_for: datetime | None = None,
    ) -> None:
        self.pipelines.runs.create(
            conn,
            record.name,
            record.revision,
            record.spec.to_json(),
            trigger=trigger,
            reason=reason,
            actor="scheduler",
            scheduled_for=scheduled_for,
        )


def record_token(engine: sa.Engine, name: str) -> str | None:
    with read(engine) as conn:
        token: str | None = conn.execute(
            sa.select(pipelines.c.new_data_token).where(pipelines.c.name == name)
        ).scalar_one_or_none()
    return token
