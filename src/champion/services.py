"""Builds the services of one champion home from Settings: used by the CLI and the server."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from champion.alerts import AlertService
from champion.artifacts import LocalArtifactStore
from champion.clock import Clock, SystemClock
from champion.db import make_engine, migrate
from champion.drift.monitor import DriftMonitor
from champion.drift.references import References
from champion.metrics import Metrics
from champion.plugins import Registry as PluginRegistry
from champion.registry import Registry
from champion.registry.flavors import Flavor, default_flavors
from champion.serving.endpoints import Endpoints
from champion.serving.policies import PolicyFactory, default_policies
from champion.settings import Settings

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
    references: References
    drift: DriftMonitor
    alerts: AlertService

    @classmethod
    def open(
        cls, settings: Settings, clock: Clock | None = None, metrics: Metrics | None = None
    ) -> Services:
        """Connect to the database (migrating it to the newest schema) and the artifact store."""
        clock = clock or SystemClock()
        engine = make_engine(settings.resolved_database_url())
        migrate(engine)
        flavors = default_flavors()
        policies = default_policies()
        store = LocalArtifactStore(settings.artifacts_dir)
        registry = Registry(engine, store, flavors, clock, settings)
        endpoints = Endpoints(engine, registry, policies, clock)
        references = References(engine, registry, clock)
        registry.add_registration_hook(references.registration_hook)
        drift = DriftMonitor(engine, registry, references, clock)
        alerts = AlertService(engine, drift, clock, metrics=metrics)
        return cls(
            settings, engine, clock, flavors, policies, registry, endpoints, references, drift,
            alerts,
        )  # fmt: skip

    def close(self) -> None:
        self.alerts.close()
        self.engine.dispose()
