"""Pipelines: define them, trigger runs, execute and resume them, approve what waits."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from champion import audit
from champion.automation.ingestion import Ingestion
from champion.automation.release import check_stage
from champion.automation.runs import STEPS, Run, RunStore, audit_about, process_owner
from champion.automation.sources import Source
from champion.automation.spec import PipelineSpec
from champion.automation.steps import STEP_FUNCTIONS, RunContext, Stop, still_valid
from champion.automation.tables import pipeline_runs, pipelines
from champion.automation.triggers import check_alert_rules
from champion.clock import Clock
from champion.db import read, write
from champion.errors import ChampionError, Conflict, InvalidInput, NotFound, Unavailable
from champion.evaluation.experiments import Experiments
from champion.plugins import Registry as PluginRegistry
from champion.registry import Registry
from champion.registry.flavors import Flavor, LoadOptions
from champion.serving.endpoints import Endpoints

__all__ = ["TRIGGERS", "PipelineRecord", "Pipelines", "Progress"]

logger = logging.getLogger("champion.automation")

TRIGGERS = ("manual", "schedule", "new_data", "drift", "decay", "alert")
Progress = Callable[[str, str, int, int], None]
"""``progress(event, step, done, total)``: event is start, files or end (for progress bars)."""


@dataclass(frozen=True)
class PipelineRecord:
    name: str
    spec: PipelineSpec
    revision: int
    updated_at: datetime
    updated_by: str
    next_run_at: datetime | None


class Pipelines:
    """The automation service: pipelines, their runs and the steps they take."""

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
        self.runs = RunStore(engine, clock, owner or process_owner(), lease_seconds)

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
                claimed=claimed,
            )
        return self.runs.get(run_id)

    def run(self, name: str, *, reason: str, actor: str, progress: Progress | None = None) -> Run:
        """Queue a run and execute it here, now (``champion pipeline run``)."""
        run = self.trigger(name, reason=reason, actor=actor, claimed=True)
        return self._execute(run.id, progress)

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
        if not self.runs.claim(run_id, ("failed",), resumed_by=actor):
            raise Conflict(f"Run {run_id} was resumed by another process just now.")
        return self._execute(run_id, progress)

    def execute(self, run_id: int, progress: Progress | None = None) -> Run:
        """Claim a queued run and execute it; a run another process claimed is left alone."""
        if not self.runs.claim(run_id):
            run = self.runs.get(run_id)
            raise Conflict(
                f"Run {run_id} of pipeline {run.pipeline!r} is {run.status}, not queued."
            )
        return self._execute(run_id, progress)

    def execute_claimed(self, run_id: int) -> Run:
        """Execute a run this process already owns (taken over after its lease ran out)."""
        return self._execute(run_id, None)

    # -- execution -----------------------------------------------------------------------

    def _execute(self, run_id: int, progress: Progress | None) -> Run:
        run = self.runs.get(run_id)
        spec = PipelineSpec.parse(run.summary["spec"])
        ctx = RunContext(
            run=run,
            spec=spec,
            workdir=self.home / "pipelines" / spec.name / "runs" / str(run.id),
            actor=run.summary.get("approved_by") or run.actor,
            store=self.runs,
            ingestion=self.ingestion,
            registry=self.registry,
            endpoints=self.endpoints,
            experiments=self.experiments,
            flavors=self.flavors,
            options=self.options,
            files_progress=(lambda d, t, n: progress("files", n, d, t)) if progress else None,
        )
        earlier = {s.step: s for s in run.steps if s.status == "succeeded"}
        fresh = False
        try:
            for step in STEPS:
                done = earlier.get(step)
                if not fresh and done is not None and still_valid(ctx, step, done.outputs):
                    ctx.outputs[step] = done.outputs
                    continue
                fresh = True
                if progress is not None:
                    progress("start", step, STEPS.index(step), len(STEPS))
                ctx.outputs[step] = self._step(ctx, step)
                if progress is not None:
                    progress("end", step, STEPS.index(step) + 1, len(STEPS))
        except Stop as stop:
            self._stopped(ctx, stop)
        except Exception as exc:  # a step failed: record why, leave everything else as it was
            self._failed(ctx, exc)
        else:
            version = ctx.outputs["register"]["version"]
            self.runs.settle_claim(
                spec.name, ctx.outputs["validate"]["fingerprint"], run.id, "registered", version
            )
            deployed = ctx.outputs["deploy"]
            where = (
                f", deployed on {deployed['endpoint']} as {deployed['policy']}"
                if ("endpoint" in deployed)
                else ""
            )
            self._record_end(
                ctx, "succeeded", f"registered {spec.model}/{version}{where}", version=version
            )
        return self.runs.get(run.id)

    def _step(self, ctx: RunContext, step: str) -> dict[str, Any]:
        self.runs.start_step(ctx.run.id, step)
        started = time.perf_counter()
        try:
            outputs = STEP_FUNCTIONS[step](ctx)
        except Stop as stop:
            self.runs.finish_step(
                ctx.run.id,
                step,
                "succeeded",
                time.perf_counter() - started,
                {**stop.outputs, "stopped": stop.status, "reason": stop.reason},
            )
            raise
        except Exception as exc:
            self.runs.finish_step(
                ctx.run.id, step, "failed", time.perf_counter() - started, {}, _describe(exc)
            )
            raise
        self.runs.finish_step(ctx.run.id, step, "succeeded", time.perf_counter() - started, outputs)
        return outputs

    def _stopped(self, ctx: RunContext, stop: Stop) -> None:
        fingerprint = ctx.outputs.get("validate", {}).get("fingerprint") or stop.outputs.get(
            "fingerprint"
        )
        if fingerprint and stop.status in {"rejected", "proposed"}:
            self.runs.settle_claim(ctx.spec.name, fingerprint, ctx.run.id, stop.status)
        self._record_end(ctx, stop.status, stop.reason)

    def _failed(self, ctx: RunContext, exc: Exception) -> None:
        if isinstance(exc, sa.exc.SQLAlchemyError) and not self._database_answers():
            raise Unavailable(
                f"The database went away during run {ctx.run.id} of pipeline {ctx.spec.name!r}; "
                "the run keeps its lease and is resumed once the lease runs out."
            ) from exc
        step = next((s for s in STEPS if s not in ctx.outputs), "?")
        fingerprint = ctx.outputs.get("validate", {}).get("fingerprint")
        version = ctx.outputs.get("register", {}).get("version")
        if fingerprint:
            # A registered version answers for its data even if deploying it failed: a later
            # run on the same data must not register it again (resume this run instead).
            outcome = "registered" if version is not None else None
            self.runs.settle_claim(ctx.spec.name, fingerprint, ctx.run.id, outcome, version)
        logger.warning("Run %s of %s failed at %s: %s", ctx.run.id, ctx.spec.name, step, exc)
        self._record_end(
            ctx, "failed", f"step {step} failed", error=f"{step}: {_describe(exc)}", version=version
        )

    def _record_end(
        self,
        ctx: RunContext,
        status: str,
        reason: str,
        *,
        error: str | None = None,
        version: int | None = None,
    ) -> None:
        current = self.runs.get(ctx.run.id)
        self.runs.finish(
            current,
            status,
            actor=ctx.actor,
            reason=reason,
            error=error,
            version=version,
            summary={"outcome": reason},
        )

    def _database_answers(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            return True
        except sa.exc.SQLAlchemyError:
            return False


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ChampionError):
        return f"{exc.code}: {exc.message}"
    where = traceback.extract_tb(exc.__traceback__)[-1:]
    at = f" (at {Path(where[0].filename).name}:{where[0].lineno})" if where else ""
    return f"{type(exc).__name__}: {exc}{at}"


def _record(row: sa.RowMapping) -> PipelineRecord:
    return PipelineRecord(
        name=row["name"],
        spec=PipelineSpec.parse(row["spec"]),
        revision=row["revision"],
        updated_at=row["updated_at"],
        updated_by=row["updated_by"],
        next_run_at=row["next_run_at"],
    )
