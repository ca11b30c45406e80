"""What every step of a pipeline run sees: the run, its spec, the services, earlier outputs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from champion.automation.claims import DataClaims
from champion.automation.ingestion import Ingestion
from champion.automation.runs import Run, RunStore
from champion.automation.sources import Source
from champion.automation.spec import ChampionGate, PipelineSpec
from champion.evaluation.experiments import Experiments
from champion.plugins import Registry as PluginRegistry
from champion.registry import Registry
from champion.registry.flavors import Flavor, LoadOptions
from champion.serving.endpoints import Endpoints

__all__ = ["RunContext", "Stop", "why"]


class Stop(Exception):  # control flow for the runner, not an error
    """End the run with ``status`` (skipped, rejected, proposed, awaiting_approval)."""

    def __init__(self, status: str, reason: str, outputs: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.outputs = outputs or {}


@dataclass
class RunContext:
    run: Run
    spec: PipelineSpec
    workdir: Path
    actor: str
    store: RunStore
    data_claims: DataClaims
    ingestion: Ingestion
    registry: Registry
    endpoints: Endpoints
    experiments: Experiments | None
    flavors: PluginRegistry[Flavor]
    options: LoadOptions
    files_progress: Callable[[int, int, str], None] | None = None
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def source(self) -> Source:
        spec = self.spec
        return Source(
            spec.source_name, spec.source.path, tuple(spec.fields), spec.model, spec.quality
        )

    def aliases(self) -> list[str]:
        named = [g.not_worse_than for g in self.spec.gates if isinstance(g, ChampionGate)]
        return sorted({"champion", *named})


def why(ctx: RunContext, what: str) -> str:
    """The reason a run gives the audit log: the run, what it does, its gates, who approved."""
    gates = ctx.outputs.get("gate", {}).get("summary", "")
    approved = ctx.run.summary.get("approved_by")
    by = f"; approved by {approved}" if approved else ""
    return f"pipeline {ctx.spec.name} run {ctx.run.id}: {what} ({gates}){by}"
