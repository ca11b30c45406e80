"""Builds the services of one champion home from Settings: used by the CLI and the server."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import sqlalchemy as sa

from champion.artifacts import LocalArtifactStore
from champion.clock import Clock, SystemClock
from champion.db import make_engine, migrate
from champion.metrics import Metrics
from champion.plugins import Registry as PluginRegistry
from champion.registry import Registry
from champion.registry.flavors import Flavor, default_flavors
from champion.registry.manifest import find_reference_file
from champion.serving.endpoints import Endpoints
from champion.serving.policies import PolicyFactory, default_policies
from champion.settings import Settings

if TYPE_CHECKING:
    from champion.alerts import AlertService
    from champion.drift.monitor import DriftMonitor
    from champion.drift.references import References

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
    metrics: Metrics | None = None

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
        services = cls(settings, engine, clock, flavors, policies, registry, endpoints, metrics)
        # A reference data file in a version folder is profiled as the version is registered.
        registry.add_registration_hook(
            lambda folder, manifest: (
                services.references.registration_hook(folder, manifest)
                if find_reference_file(folder) is not None
                else None
            )
        )
        return services

    # The drift and alert services import the statistics stack (SciPy, pandas): built on
    # first use, so commands that do not need them start fast.

    @cached_property
    def references(self) -> References:
        from champion.drift.references import References

        return References(self.engine, self.registry, self.clock)

    @cached_property
    def drift(self) -> DriftMonitor:
        from champion.drift.monitor import DriftMonitor

        return DriftMonitor(self.engine, self.registry, self.references, self.clock)

    @cached_property
    def alerts(self) -> AlertService:
        from champion.alerts import AlertService

        return AlertService(self.engine, self.drift, self.clock, metrics=self.metrics)

    def close(self) -> None:
        if "alerts" in self.__dict__:
            self.alerts.close()
        self.engine.dispose()
