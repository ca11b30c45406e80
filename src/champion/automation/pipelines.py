"""Pipelines: define them, queue their runs, approve what waits, resume what failed.

Each change of a definition is a new audited revision. Runs are recorded by
:mod:`~champion.automation.runs`, claimed by :mod:`~champion.automation.claims` and executed
by :mod:`~champion.automation.executor`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from champion import audit
from champion.automation.claims import DataClaims, RunClaims, process_owner
from champion.automation.executor import Progress, RunExecutor
from champion.automation.ingestion import Ingestion
from champion.automation.release import check_stage
from champion.automation.runs import Run, RunStore, audit_about
from champion.automation.sources import Source
from champion.automation.spec import PipelineSpec
from champion.automation.tables import pipeline_runs, pipelines
from champion.automation.triggers import check_alert_rules
from champion.clock import Clock
from champion.db import read, write
from champion.errors import Conflict, InvalidInput, NotFound
from champion.evaluation.experiments import Experiments
from champion.plugins import Registry as PluginRegistry
from champion.registry import Registry
from champion.registry.flavors import Flavor, LoadOptions
from champion.serving.endpoints import Endpoints

__all__ = ["TRIGGERS", "PipelineRecord", "Pipelines"]

TRIGGERS = ("manual", "schedule", "new_data", "drift", "decay", "alert")


@dataclass(frozen=True)
class PipelineRecord:
    name: str
    spec: PipelineSpec
    revision: int
    updated_at: datetime
    updated_by: str
    next_run_at: datetime | None


class Pipelines:
    """The automation service: pipelines, their runs and the steps they take.

    ``runs`` keeps the records, ``claims`` this process's claims on runs (``owner``, under a
    lease of ``lease_seconds``) and ``executor`` executes what this process claimed.
    """

    def __init__(
        self,
        engine: sa.Engine,
        clock: Clock,
        home: Path,
        registry: Registry,
        endpoints: Endpoints,
        flavors: PluginRegistry[Flavor],
        options: LoadOptions,
        ingestion: Ingestion,
        *,
        experiments: Experiments | None = None,
        lease_seconds: float = 3600.0,
        owner: str | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.home = home
        self.registry = registry
        self.endpoints = endpoints
        self.flavors = flavors
        self.options = options
        self.ingestion = ingestion
        self.experiments = experiments
        self.runs = RunStore(engine, clock)
        self.claims = RunClaims(engine, clock, owner or process_owner(), lease_seconds)
        self.executor = RunExecutor(
            engine, home, self.runs, self.claims, DataClaims(engine, clock),
            registry=registry, endpoints=endpoints, flavors=flavors, options=options,
            ingestion=ingestion, experiments=experiments,
        )  # fmt: skip

    # -- definitions ---------------------------------------------------------------------

    def apply(self, spec: PipelineSpec, *, actor: str, reason: str = "") -> PipelineRecord:
        """Create or update a pipeline (each change is a new audited revision)."""
        spec = spec.resolved()
        now = self.clock.now()
        with write(self.engine) as conn:
            check_alert_rules(conn, spec)
            if spec.deploy is not None:
                # Refused now, not at the run's last step: a stage that is not there, or one
                # serving another model, or a pipeline endpoint named without its stage.
                check_stage(self.endpoints, conn, spec.deploy, spec.model)
            current = conn.execute(
                sa.select(pipelines).where(pipelines.c.name == spec.name)
            ).first()
            revision = 1 if current is None else current.revision + 1
            values = dict(spec=spec.to_json(), revision=revision, updated_at=now, updated_by=actor)
            if current is None:
                conn.execute(pipelines.insert().values(name=spec.name, next_run_at=None, **values))
            else:
                if current.spec.get("schedule") != spec.to_json().get("schedule"):
                    values["next_run_at"] = None  # the scheduler plans the new schedule
                conn.execute(
                    pipelines.update().where(pipelines.c.name == spec.name).values(**values)
                )
            audit.record(
                conn,
                at=now,
                actor=actor,
                action="pipeline.apply",
                target=spec.name,
                details={
                    "revision": revision,
                    "model": spec.model,
                    **({"endpoint": spec.deploy.endpoint} if spec.deploy else {}),
                    **({"stage": spec.deploy.stage} if spec.deploy and spec.deploy.stage else {}),
                    "spec": spec.to_json(),
                },
                reason=reason,
            )
        return self.get(spec.name)

    def get(self, name: str) -> PipelineRecord:
        with read(self.engine) as conn:
            row = conn.execute(sa.select(pipelines).where(pipelines.c.name == name)).first()
            if row is None:
                known = conn.execute(sa.select(pipelines.c.name).order_by(pipelines.c.name))
                listed = ", ".join(known.scalars()) or "(none)"
                raise NotFound(f"Unknown pipeline {name!r}. Pipelines: {listed}.")
        return _record(row._mapping)

    def list_pipelines(self) -> list[PipelineRecord]:
        with read(self.engine) as conn:
            rows = conn.execute(sa.select(pipelines).order_by(pipelines.c.name)).all()
        return [_record(row._mapping) for row in rows]

    def source(self, name: str) -> Source:
        """The source named ``name``, as declared by the pipelines that read it."""
        found = {
            (r.spec.source.path, tuple(r.spec.fields), r.spec.model, r.spec.quality): r.spec
            for r in self.list_pipelines()
            if r.spec.source_name == name
        }
        if not found:
            raise NotFound(f"No pipeline reads a source named {name!r}.")
        if len(found) > 1:
            raise Conflict(
                f"Pipelines declare source {name!r} differently; give each its own name."
            )
        spec = next(iter(found.values()))
        return Source(name, spec.source.path, tuple(spec.fields), spec.model, spec.quality)

    # -- runs ----------------------------------------------------------------------------

    def trigger(
        self,
        name: str,
        *,
        reason: str,
        actor: str,
        trigger: str = "manual",
        scheduled_for: datetime | None = None,
        claimed: bool = False,
    ) -> Run:
        """Queue a run of ``name``; a server's scheduler (or :meth:`execute`) runs it.

        This is what schedules, new data, drift alerts and performance decay call.
        """
        if trigger not in TRIGGERS:
            raise InvalidInput(f"Unknown trigger {trigger!r}. Triggers: {', '.join(TRIGGERS)}.")
        record = self.get(name)
        with write(self.engine) as conn:
            run_id = self.runs.create(
                conn,
                name,
                record.revision,
                record.spec.to_json(),
                trigger=trigger,
                reason=reason,
                actor=actor,
                scheduled_for=scheduled_for,
                claimed_by=self.claims if claimed else None,
            )
        return self.runs.get(run_id)

    def run(self, name: str, *, reason: str, actor: str, progress: Progress | None = None) -> Run:
        """Queue a run and execute it here, now (``champion pipeline run``)."""
        run = self.trigger(name, reason=reason, actor=actor, claimed=True)
        return self.executor.execute(run.id, progress)

    def get_run(self, name: str, run_id: int) -> Run:
        self.get(name)
        return self.runs.get(run_id, name)

    def list_runs(self, name: str, limit: int = 50) -> list[Run]:
        self.get(name)
        return self.runs.recent(name, limit)

    def approve(self, name: str, run_id: int, *, actor: str, reason: str = "") -> Run:
        """Let a run waiting for approval go on to register and deploy (queued again)."""
        run = self.get_run(name, run_id)
        if run.status != "awaiting_approval":
            raise Conflict(
                f"Run {run_id} of pipeline {name!r} is {run.status}, not awaiting_approval; "
                "only a run whose gates passed under automation 'approve' can be approved."
            )
        now = self.clock.now()
        with write(self.engine) as conn:
            moved = conn.execute(
                pipeline_runs.update()
                .where(
                    (pipeline_runs.c.id == run_id) & (pipeline_runs.c.status == "awaiting_approval")
                )
                .values(
                    status="queued",
                    summary={**run.summary, "approved_by": actor, "approved_at": now.isoformat()},
                )
            ).rowcount
            if moved != 1:
                raise Conflict(f"Run {run_id} was approved or changed by someone else just now.")
            audit.record(
                conn,
                at=now,
                actor=actor,
                action="pipeline.run.approve",
                target=name,
                details={"run": run_id, **audit_about(run.summary.get("spec", {}))},
                reason=reason,
            )
        return self.runs.get(run_id)

    def resume(
        self,
        name: str,
        run_id: int,
        *,
        progress: Progress | None = None,
        actor: str = "cli",
    ) -> Run:
        """Run a failed run again from its first step that did not succeed.

        A fix to how the version is deployed (or approved) since the run started applies: the
        run takes the pipeline's current definition when it trains the same way.
        """
        run = self.get_run(name, run_id)
        if run.status != "failed":
            raise Conflict(
                f"Run {run_id} of pipeline {name!r} is {run.status}; only failed runs resume."
            )
        current = self.get(name).spec
        if current.training_digest() == PipelineSpec.parse(run.summary["spec"]).training_digest():
            self.runs.update(run_id, summary={**run.summary, "spec": current.to_json()})
        if not self.claims.claim(run_id, ("failed",), resumed_by=actor):
            raise Conflict(f"Run {run_id} was resumed by another process just now.")
        return self.executor.execute(run_id, progress)

    def execute(self, run_id: int, progress: Progress | None = None) -> Run:
        """Claim a queued run and execute it; a run another process claimed is left alone."""
        if not self.claims.claim(run_id):
            run = self.runs.get(run_id)
            raise Conflict(
                f"Run {run_id} of pipeline {run.pipeline!r} is {run.status}, not queued."
            )
        return self.executor.execute(run_id, progress)

    def execute_claimed(self, run_id: int) -> Run:
        """Execute a run this process already owns (taken over after its lease ran out)."""
        return self.executor.execute(run_id)


def _record(row: sa.RowMapping) -> PipelineRecord:
    return PipelineRecord(
        name=row["name"],
        spec=PipelineSpec.parse(row["spec"]),
        revision=row["revision"],
        updated_at=row["updated_at"],
        updated_by=row["updated_by"],
        next_run_at=row["next_run_at"],
    )
