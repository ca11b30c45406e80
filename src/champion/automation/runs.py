"""The record of pipeline runs and their steps: queued, started, finished, with what came out.

Which process runs a run, and which run answers for a pipeline's data, are claims on these
rows: :mod:`champion.automation.claims`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from champion import audit
from champion.automation.tables import pipeline_runs, pipeline_steps
from champion.clock import Clock
from champion.db import read, write
from champion.errors import NotFound

if TYPE_CHECKING:
    from champion.automation.claims import RunClaims

__all__ = ["FINISHED", "STEPS", "Run", "RunStore", "Step", "audit_about"]

STEPS = ("ingest", "validate", "train", "score", "gate", "register", "deploy")
FINISHED = frozenset({"succeeded", "failed", "rejected", "skipped", "proposed"})


@dataclass(frozen=True)
class Step:
    run_id: int
    step: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    seconds: float | None
    error: str | None
    outputs: dict[str, Any]


@dataclass(frozen=True)
class Run:
    id: int
    pipeline: str
    revision: int
    status: str
    trigger: str
    reason: str
    actor: str
    created_at: datetime
    scheduled_for: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    claimed_by: str | None
    lease_until: datetime | None
    fingerprint: str | None
    version: int | None
    error: str | None
    summary: dict[str, Any]
    steps: tuple[Step, ...] = field(default=())

    def step(self, name: str) -> Step | None:
        return next((s for s in self.steps if s.step == name), None)


class RunStore:
    """Pipeline runs and their steps, as rows; every change of a run is audited."""

    def __init__(self, engine: sa.Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    # -- runs ----------------------------------------------------------------------------

    def create(
        self,
        conn: sa.Connection,
        pipeline: str,
        revision: int,
        spec: dict[str, Any],
        *,
        trigger: str,
        reason: str,
        actor: str,
        scheduled_for: datetime | None = None,
        claimed_by: RunClaims | None = None,
        details: dict[str, Any] | None = None,
        summary: dict[str, Any] | None = None,
    ) -> int:
        """Queue a run in the caller's transaction (``claimed_by``: that process runs it now).

        ``details`` go in the audit record, ``summary`` in the run's (what triggered it).
        """
        now = self.clock.now()
        state: dict[str, Any] = {"status": "queued"}
        if claimed_by is not None:
            state = claimed_by.running(now)
        run_id = int(
            conn.execute(
                pipeline_runs.insert()
                .values(
                    pipeline=pipeline,
                    revision=revision,
                    trigger=trigger,
                    reason=reason,
                    actor=actor,
                    created_at=now,
                    scheduled_for=scheduled_for,
                    summary={**(summary or {}), "spec": spec},
                    **state,
                )
                .returning(pipeline_runs.c.id)
            ).scalar_one()
        )
        audit.record(
            conn,
            at=now,
            actor=actor,
            action="pipeline.run.queue",
            target=pipeline,
            details={"run": run_id, "trigger": trigger, **audit_about(spec), **(details or {})},
            reason=reason,
        )
        return run_id

    def update(self, run_id: int, **values: Any) -> None:
        with write(self.engine) as conn:
            conn.execute(
                pipeline_runs.update().where(pipeline_runs.c.id == run_id).values(**values)
            )

    def finish(
        self,
        run: Run,
        status: str,
        *,
        actor: str,
        reason: str,
        error: str | None = None,
        version: int | None = None,
        summary: dict[str, Any] | None = None,
    ) -> None:
        now = self.clock.now()
        with write(self.engine) as conn:
            conn.execute(
                pipeline_runs.update()
                .where(pipeline_runs.c.id == run.id)
                .values(
                    status=status,
                    finished_at=None if status == "awaiting_approval" else now,
                    error=error,
                    version=version if version is not None else run.version,
                    lease_until=None,
                    summary={**run.summary, **(summary or {})},
                )
            )
            audit.record(
                conn,
                at=now,
                actor=actor,
                action=f"pipeline.run.{status}",
                target=run.pipeline,
                details={
                    "run": run.id,
                    "version": version,
                    "error": error,
                    **audit_about(run.summary.get("spec", {})),
                },
                reason=reason,
            )

    def get(self, run_id: int, pipeline: str | None = None) -> Run:
        with read(self.engine) as conn:
            row = conn.execute(sa.select(pipeline_runs).where(pipeline_runs.c.id == run_id)).first()
            if row is None or (pipeline is not None and row.pipeline != pipeline):
                where = f" of pipeline {pipeline!r}" if pipeline else ""
                raise NotFound(f"Unknown run {run_id!r}{where}.")
            steps = conn.execute(
                sa.select(pipeline_steps).where(pipeline_steps.c.run_id == run_id)
            ).all()
        order = {name: i for i, name in enumerate(STEPS)}
        found = sorted((Step(**s._mapping) for s in steps), key=lambda s: order[s.step])
        return Run(**row._mapping, steps=tuple(found))

    def recent(self, pipeline: str | None = None, limit: int = 50) -> list[Run]:
        """The newest runs first, each with its steps."""
        query = sa.select(pipeline_runs.c.id).order_by(pipeline_runs.c.id.desc()).limit(limit)
        if pipeline is not None:
            query = query.where(pipeline_runs.c.pipeline == pipeline)
        with read(self.engine) as conn:
            ids = list(conn.execute(query).scalars())
        return [self.get(run_id) for run_id in ids]

    def queued(self) -> list[int]:
        with read(self.engine) as conn:
            return list(
                conn.execute(
                    sa.select(pipeline_runs.c.id)
                    .where(pipeline_runs.c.status == "queued")
                    .order_by(pipeline_runs.c.id)
                ).scalars()
            )

    # -- steps ---------------------------------------------------------------------------

    def start_step(self, run_id: int, step: str) -> None:
        now = self.clock.now()
        with write(self.engine) as conn:
            conn.execute(
                pipeline_steps.delete().where(
                    (pipeline_steps.c.run_id == run_id) & (pipeline_steps.c.step == step)
                )
            )
            conn.execute(
                pipeline_steps.insert().values(
                    run_id=run_id, step=step, status="running", started_at=now, outputs={}
                )
            )

    def finish_step(
        self,
        run_id: int,
        step: str,
        status: str,
        seconds: float,
        outputs: dict[str, Any],
        error: str | None = None,
    ) -> None:
        with write(self.engine) as conn:
            conn.execute(
                pipeline_steps.update()
                .where((pipeline_steps.c.run_id == run_id) & (pipeline_steps.c.step == step))
                .values(
                    status=status,
                    finished_at=self.clock.now(),
                    seconds=seconds,
                    outputs=outputs,
                    error=error,
                )
            )


def audit_about(spec: dict[str, Any]) -> dict[str, Any]:
    """What a run's audit records say it is about: its model, and the endpoint it deploys to
    (so the audit log's model and endpoint filters find it)."""
    about: dict[str, Any] = {"model": spec.get("model")}
    endpoint = (spec.get("deploy") or {}).get("endpoint")
    if endpoint:
        about["endpoint"] = endpoint
    return about
