"""The record of pipeline runs and their steps, and the row claims that keep them single.

Every change of a run goes through one transactional ``UPDATE ... WHERE`` on its row: a
process owns a run only if its update matched (``rowcount == 1``), which works the same on
SQLite and PostgreSQL. A running run carries a lease, renewed at each step; a run whose
lease ran out (its process died, or lost the database) can be taken over and resumed.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from champion import audit
from champion.automation.tables import pipeline_claims, pipeline_runs, pipeline_steps
from champion.clock import Clock
from champion.db import read, write
from champion.errors import NotFound

__all__ = ["FINISHED", "STEPS", "Claim", "Run", "RunStore", "Step", "process_owner"]

STEPS = ("ingest", "validate", "train", "score", "gate", "register", "deploy")
FINISHED = frozenset({"succeeded", "failed", "rejected", "skipped", "proposed"})


def process_owner() -> str:
    """Who claims runs: this host and process, unique per process start."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


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


@dataclass(frozen=True)
class Claim:
    run_id: int
    outcome: str | None
    version: int | None


class RunStore:
    def __init__(self, engine: sa.Engine, clock: Clock, owner: str, lease_seconds: float) -> None:
        self.engine = engine
        self.clock = clock
        self.owner = owner
        self.lease = timedelta(seconds=lease_seconds)

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
        claimed: bool = False,
        details: dict[str, Any] | None = None,
        summary: dict[str, Any] | None = None,
    ) -> int:
        """Queue a run in the caller's transaction (``claimed``: this process runs it now).

        ``details`` go in the audit record, ``summary`` in the run's (what triggered it).
        """
        now = self.clock.now()
        state: dict[str, Any] = {"status": "queued"}
        if claimed:
            state = dict(
                status="running",
                claimed_by=self.owner,
                lease_until=now + self.lease,
                started_at=now,
            )
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

    def claim(
        self,
        run_id: int,
        statuses: tuple[str, ...] = ("queued",),
        *,
        resumed_by: str | None = None,
    ) -> bool:
        """Take ``run_id`` if it is in one of ``statuses``; True if this process got it.

        ``resumed_by``: a failed run taken again, audited as resumed by that actor.
        """
        now = self.clock.now()
        with write(self.engine) as conn:
            taken = conn.execute(
                pipeline_runs.update()
                .where((pipeline_runs.c.id == run_id) & pipeline_runs.c.status.in_(statuses))
                .values(
                    status="running",
                    claimed_by=self.owner,
                    lease_until=now + self.lease,
                    started_at=sa.func.coalesce(pipeline_runs.c.started_at, now),
                    finished_at=None,
                    error=None,
                )
            ).rowcount
            if taken == 1 and resumed_by is not None:
                self._audit(conn, run_id, "pipeline.run.resume", resumed_by, "resumed by hand")
        return bool(taken == 1)

    def _audit(self, conn: sa.Connection, run_id: int, action: str, actor: str, why: str) -> None:
        row = conn.execute(
            sa.select(pipeline_runs.c.pipeline, pipeline_runs.c.summary).where(
                pipeline_runs.c.id == run_id
            )
        ).one()
        audit.record(
            conn,
            at=self.clock.now(),
            actor=actor,
            action=action,
            target=row.pipeline,
            details={
                "run": run_id,
                "owner": self.owner,
                **audit_about(row.summary.get("spec", {})),
            },
            reason=why,
        )

    def stale(self) -> list[int]:
        """Take over runs whose lease ran out; return their ids (this process owns them now)."""
        now = self.clock.now()
        with read(self.engine) as conn:
            candidates = conn.execute(
                sa.select(pipeline_runs.c.id, pipeline_runs.c.claimed_by).where(
                    (pipeline_runs.c.status == "running") & (pipeline_runs.c.lease_until < now)
                )
            ).all()
        taken = []
        for run_id, previous in candidates:
            with write(self.engine) as conn:
                won = conn.execute(
                    pipeline_runs.update()
                    .where(
                        (pipeline_runs.c.id == run_id)
                        & (pipeline_runs.c.status == "running")
                        & (pipeline_runs.c.lease_until < now)
                        & (pipeline_runs.c.claimed_by == previous)
                    )
                    .values(claimed_by=self.owner, lease_until=now + self.lease)
                ).rowcount
                if won == 1:
                    why = f"the lease of {previous} ran out; resumed by {self.owner}"
                    self._audit(conn, int(run_id), "pipeline.run.takeover", "scheduler", why)
            if won == 1:
                taken.append(int(run_id))
        return taken

    def renew(self, run_id: int) -> None:
        with write(self.engine) as conn:
            conn.execute(
                pipeline_runs.update()
                .where((pipeline_runs.c.id == run_id) & (pipeline_runs.c.claimed_by == self.owner))
                .values(lease_until=self.clock.now() + self.lease)
            )

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
            conn.execute(
                pipeline_runs.update()
                .where(pipeline_runs.c.id == run_id)
                .values(lease_until=now + self.lease)
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

    # -- claims on (pipeline, fingerprint) -----------------------------------------------

    def claim_data(self, pipeline: str, fingerprint: str, run_id: int) -> Claim:
        """Make ``run_id`` the run answering for ``fingerprint``, unless another one is.

        Returns the claim as it stands: ``claim.run_id == run_id`` means this run has it.
        A claim held by a run that failed, or whose lease ran out, passes to this run.
        """
        where = (pipeline_claims.c.pipeline == pipeline) & (
            pipeline_claims.c.fingerprint == fingerprint
        )
        for _ in range(3):
            try:
                with write(self.engine) as conn:
                    row = conn.execute(sa.select(pipeline_claims).where(where)).first()
                    if row is None:
                        conn.execute(
                            pipeline_claims.insert().values(
                                pipeline=pipeline, fingerprint=fingerprint, run_id=run_id
                            )
                        )
                        return Claim(run_id, None, None)
                    if row.run_id == run_id or row.outcome is not None:
                        return Claim(row.run_id, row.outcome, row.version)
                    holder = conn.execute(
                        sa.select(pipeline_runs.c.status, pipeline_runs.c.lease_until).where(
                            pipeline_runs.c.id == row.run_id
                        )
                    ).first()
                    alive = holder is not None and (
                        holder.status in {"queued", "awaiting_approval"}
                        or (
                            holder.status == "running"
                            and holder.lease_until is not None
                            and holder.lease_until >= self.clock.now()
                        )
                    )
                    if alive:
                        return Claim(row.run_id, None, None)
                    conn.execute(
                        pipeline_claims.update()
                        .where(where & (pipeline_claims.c.run_id == row.run_id))
                        .values(run_id=run_id)
                    )
                    return Claim(run_id, None, None)
            except sa.exc.IntegrityError:
                continue  # another run inserted the claim between our read and insert
        raise RuntimeError("claim_data: the claim kept changing under us")  # pragma: no cover

    def settle_claim(
        self,
        pipeline: str,
        fingerprint: str,
        run_id: int,
        outcome: str | None,
        version: int | None = None,
    ) -> None:
        """Record the outcome; ``outcome=None`` releases the claim so a later run can retry."""
        where = (
            (pipeline_claims.c.pipeline == pipeline)
            & (pipeline_claims.c.fingerprint == fingerprint)
            & (pipeline_claims.c.run_id == run_id)
        )
        with write(self.engine) as conn:
            if outcome is None:
                conn.execute(
                    pipeline_claims.delete().where(where & pipeline_claims.c.outcome.is_(None))
                )
            else:
                conn.execute(
                    pipeline_claims.update().where(where).values(outcome=outcome, version=version)
                )


def audit_about(spec: dict[str, Any]) -> dict[str, Any]:
    """What a run's audit records say it is about: its model, and the endpoint it deploys to
    (so the audit log's model and endpoint filters find it)."""
    about: dict[str, Any] = {"model": spec.get("model")}
    endpoint = (spec.get("deploy") or {}).get("endpoint")
    if endpoint:
        about["endpoint"] = endpoint
    return about
