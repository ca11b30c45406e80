"""The executor of pipeline runs: each step in order, recorded as it goes, resumed where it
stopped.

A run this process claimed (:mod:`champion.automation.claims`) is executed step by step:
each step renews the run's lease and is recorded with its outputs, its time and its error;
the steps that succeeded in an earlier attempt and are still valid are not run again. A
``Stop`` ends the run early (skipped, rejected, proposed, awaiting approval); an exception
fails it at its step, unless the database went away, in which case the run keeps its lease
and is taken over once the lease runs out.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from champion.automation.claims import DataClaims, RunClaims
from champion.automation.ingestion import Ingestion
from champion.automation.runs import STEPS, Run, RunStore
from champion.automation.spec import PipelineSpec
from champion.automation.steps import STEP_FUNCTIONS, RunContext, Stop, still_valid
from champion.errors import ChampionError, Unavailable
from champion.evaluation.experiments import Experiments
from champion.plugins import Registry as PluginRegistry
from champion.registry import Registry
from champion.registry.flavors import Flavor, LoadOptions
from champion.serving.endpoints import Endpoints

__all__ = ["Progress", "RunExecutor"]

logger = logging.getLogger("champion.automation")

Progress = Callable[[str, str, int, int], None]
"""``progress(event, step, done, total)``: event is start, files or end (for progress bars)."""


class RunExecutor:
    """Executes the runs this process claimed, with the services their steps use."""

    def __init__(
        self,
        engine: sa.Engine,
        home: Path,
        runs: RunStore,
        claims: RunClaims,
        data_claims: DataClaims,
        *,
        registry: Registry,
        endpoints: Endpoints,
        flavors: PluginRegistry[Flavor],
        options: LoadOptions,
        ingestion: Ingestion,
        experiments: Experiments | None = None,
    ) -> None:
        self.engine = engine
        self.home = home
        self.runs = runs
        self.claims = claims
        self.data_claims = data_claims
        self.registry = registry
        self.endpoints = endpoints
        self.flavors = flavors
        self.options = options
        self.ingestion = ingestion
        self.experiments = experiments

    def execute(self, run_id: int, progress: Progress | None = None) -> Run:
        """Run the steps of ``run_id`` (claimed by this process) from the first that is not
        done; record how it ended and return the run."""
        run = self.runs.get(run_id)
        spec = PipelineSpec.parse(run.summary["spec"])
        ctx = RunContext(
            run=run,
            spec=spec,
            workdir=self.home / "pipelines" / spec.name / "runs" / str(run.id),
            actor=run.summary.get("approved_by") or run.actor,
            store=self.runs,
            data_claims=self.data_claims,
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
            self.data_claims.settle(
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
        self.claims.renew(ctx.run.id)
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
            self.data_claims.settle(ctx.spec.name, fingerprint, ctx.run.id, stop.status)
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
            self.data_claims.settle(ctx.spec.name, fingerprint, ctx.run.id, outcome, version)
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
