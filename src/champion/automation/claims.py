"""Claims on rows: which process runs a pipeline run, and which run answers for its data.

Every claim is one transactional ``UPDATE ... WHERE`` (or an insert under a unique key): a
process owns a run only if its update matched (``rowcount == 1``), which works the same on
SQLite and PostgreSQL. A running run carries a lease, renewed at each step; a run whose
lease ran out (its process died, or lost the database) can be taken over and resumed.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from champion import audit
from champion.automation.runs import audit_about
from champion.automation.tables import pipeline_claims, pipeline_runs
from champion.clock import Clock
from champion.db import read, write

__all__ = ["Claim", "DataClaims", "RunClaims", "process_owner"]


def process_owner() -> str:
    """Who claims runs: this host and process, unique per process start."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class Claim:
    run_id: int
    outcome: str | None
    version: int | None


class RunClaims:
    """This process's claims on pipeline runs, each held under a lease of ``lease_seconds``."""

    def __init__(self, engine: sa.Engine, clock: Clock, owner: str, lease_seconds: float) -> None:
        self.engine = engine
        self.clock = clock
        self.owner = owner
        self.lease = timedelta(seconds=lease_seconds)

    def running(self, now: datetime) -> dict[str, Any]:
        """The values that make a run this process's, running from ``now``."""
        return {
            "status": "running",
            "claimed_by": self.owner,
            "lease_until": now + self.lease,
            "started_at": now,
        }

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
                    {
                        **self.running(now),
                        "started_at": sa.func.coalesce(pipeline_runs.c.started_at, now),
                        "finished_at": None,
                        "error": None,
                    }
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


class DataClaims:
    """Which run answers for the data a pipeline saw (its fingerprint), and with what outcome.

    A second run on the same data finds the first one's claim: it waits for a live run,
    takes over from a dead one, and stops at an outcome (registered, rejected, proposed).
    """

    def __init__(self, engine: sa.Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def claim(self, pipeline: str, fingerprint: str, run_id: int) -> Claim:
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
        raise RuntimeError("DataClaims.claim: the claim kept changing under us")  # pragma: no cover

    def settle(
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
