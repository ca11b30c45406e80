"""Builds the services of one champion home from Settings: used by the CLI and the server."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import sqlalchemy as sa

from champion.access import Tokens
from champion.artifacts import LocalArtifactStore
from champion.automation import Ingestion, Pipelines
from champion.clock import Clock, SystemClock
from champion.db import make_engine, migrate
from champion.plugins import Registry as PluginRegistry
from champion.registry import Registry
from champion.registry.flavors import Flavor, default_flavors
from champion.serving.endpoints import Endpoints
from champion.serving.policies import PolicyFactory, default_policies
from champion.settings import Settings

if TYPE_CHECKING:
    from champion.automation import Rollout
    from champion.evaluation.experiments import Experiments

__all__ = ["Services"]


@dataclass
class Services:
    settings: Settings
    engine: sa.Engine
    clock: Clock
    flavors: PluginRegistry[Flavor]
    policies: PluginRegistry[PolicyFactory]
    registry: Registry
    endpoints: Endpoints
    ingestion: Ingestion
    pipelines: Pipelines
    tokens: Tokens

    @classmethod
    def open(cls, settings: Settings, clock: Clock | None = None) -> Services:
        """Connect to the database (migrating it to the newest schema) and the artifact store."""
        clock = clock or SystemClock()
        engine = make_engine(settings.resolved_database_url())
        migrate(engine)
        flavors = default_flavors()
        policies = default_policies()
        store = LocalArtifactStore(settings.artifacts_dir)
        registry = Registry(engine, store, flavors, clock, settings)
        endpoints = Endpoints(engine, registry, policies, clock)
        ingestion = Ingestion(engine, clock, settings.home)
        pipelines = Pipelines(
            engine, clock, settings.home, registry, endpoints, flavors, settings, ingestion,
            lease_seconds=settings.pipeline_lease_seconds,
        )  # fmt: skip
        tokens = Tokens(engine, clock)
        return cls(
            settings, engine, clock, flavors, policies, registry, endpoints, ingestion, pipelines,
            tokens,
        )  # fmt: skip

    # Experiments bring SciPy and scikit-learn: built on first use, so commands that do not
    # need them start fast.
    @cached_property
    def experiments(self) -> Experiments:
        from champion.evaluation.experiments import Experiments

        return Experiments(self.engine, self.registry, self.endpoints, self.clock)

    @cached_property
    def rollout(self) -> Rollout:
        from champion.automation import Rollout

        return Rollout(self.engine, self.registry, self.endpoints, self.experiments, self.clock)

    def close(self) -> None:
        self.engine.dispose()
