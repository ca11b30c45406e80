"""Builds the services of one champion home from Settings: used by the CLI and the server."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING

import sqlalchemy as sa

from champion.access import Tokens
from champion.artifacts import ArtifactStore, open_artifact_store
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
    from champion.automation import Ingestion, Pipelines, Rollout
    from champion.drift.days import DriftDays
    from champion.drift.monitor import DriftMonitor
    from champion.drift.references import References
    from champion.evaluation.experiments import Experiments
    from champion.events.compaction import Compaction
    from champion.events.retention import Retention

__all__ = ["Services", "artifact_store"]


def artifact_store(settings: Settings) -> ArtifactStore:
    """The store CHAMPION_ARTIFACTS_URL names, else the folder ``<home>/artifacts``."""
    return open_artifact_store(
        settings.artifacts_url,
        folder=settings.artifacts_dir,
        cache_folder=settings.artifacts_cache_dir,
        cache_bytes=settings.artifacts_cache_bytes,
    )


@dataclass
class Services:
    settings: Settings
    engine: sa.Engine
    clock: Clock
    flavors: PluginRegistry[Flavor]
    policies: PluginRegistry[PolicyFactory]
    registry: Registry
    endpoints: Endpoints
    tokens: Tokens
    metrics: Metrics | None = None

    @classmethod
    def open(
        cls, settings: Settings, clock: Clock | None = None, metrics: Metrics | None = None
    ) -> Services:
        """Connect to the database (migrating it to the newest schema) and the artifact store.

        Raises InvalidInput for a malformed CHAMPION_ARTIFACTS_URL, MissingExtra without the
        s3 extra, and Unavailable if its bucket cannot be reached.
        """
        clock = clock or SystemClock()
        store = artifact_store(settings)
        store.check()
        engine = make_engine(settings.resolved_database_url())
        migrate(engine)
        flavors = default_flavors()
        policies = default_policies()
        registry = Registry(engine, store, flavors, clock, settings)
        endpoints = Endpoints(engine, registry, policies, clock)
        tokens = Tokens(engine, clock)
        services = cls(
            settings, engine, clock, flavors, policies, registry, endpoints, tokens, metrics
        )
        registry.add_deletion_guard(endpoints.serving)
        # A reference data file in a version folder is profiled as the version is registered.
        registry.add_registration_hook(
            lambda folder, manifest: (
                services.references.registration_hook(folder, manifest)
                if find_reference_file(folder) is not None
                else None
            )
        )
        return services

    # The services below import the statistics and data stack (SciPy, scikit-learn, pandas,
    # pyarrow): built on first use, so commands that do not need them start fast.

    @cached_property
    def experiments(self) -> Experiments:
        from champion.evaluation.experiments import Experiments

        return Experiments(self.engine, self.registry, self.endpoints, self.clock)

    @cached_property
    def rollout(self) -> Rollout:
        from champion.automation import Rollout

        return Rollout(self.engine, self.registry, self.endpoints, self.experiments, self.clock)

    @cached_property
    def references(self) -> References:
        from champion.drift.references import References

        return References(self.engine, self.registry, self.clock)

    @cached_property
    def drift(self) -> DriftMonitor:
        from champion.drift.monitor import DriftMonitor

        return DriftMonitor(self.engine, self.registry, self.references, self.endpoints, self.clock)

    @cached_property
    def drift_days(self) -> DriftDays:
        from champion.drift.days import DriftDays

        return DriftDays(
            self.engine,
            self.references,
            self.clock,
            grace=timedelta(seconds=self.settings.drift_days_grace_seconds),
            recheck=timedelta(seconds=self.settings.drift_days_recheck_seconds),
        )

    @cached_property
    def retention(self) -> Retention:
        """The retention pass of ``settings``; while daily drift windows are stored, no
        prediction goes before its day is summarised (drift history outlives the raw rows)."""
        from champion.events.retention import Retention

        retention = Retention.from_settings(self.settings, self.engine, self.clock)
        if self.settings.drift_days_interval_seconds > 0:
            retention.add_guard("predictions", self.drift_days.guard, name="drift days")
        return retention

    @cached_property
    def compaction(self) -> Compaction:
        """The compaction pass of ``settings`` (CHAMPION_KEEP_UNIT_ROLLUPS): it keeps per
        unit every segment a running experiment reads."""
        from champion.events.compaction import Compaction

        return Compaction.from_settings(self.settings, self.engine, self.clock)

    @cached_property
    def alerts(self) -> AlertService:
        from champion.alerts import AlertService

        return AlertService(
            self.engine, self.drift, self.clock, metrics=self.metrics, endpoints=self.endpoints
        )

    @cached_property
    def ingestion(self) -> Ingestion:
        from champion.automation import Ingestion
        from champion.drift import ReferenceQuality

        quality = ReferenceQuality(self.registry, self.references)
        return Ingestion(self.engine, self.clock, self.settings.home, quality)

    @cached_property
    def pipelines(self) -> Pipelines:
        from champion.automation import Pipelines

        return Pipelines(
            self.engine, self.clock, self.settings.home, self.registry, self.endpoints,
            self.flavors, self.settings, self.ingestion, experiments=self.experiments,
            lease_seconds=self.settings.pipeline_lease_seconds,
        )  # fmt: skip

    def close(self) -> None:
        self.engine.dispose()
