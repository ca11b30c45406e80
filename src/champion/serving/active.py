"""The active endpoint table: what each endpoint serves right now, and how it routes.

Every configured endpoint is activated into an :class:`ActiveEndpoint`: its policy built
over resolved versions, those versions loaded, its salt, and for a pipeline endpoint the
chain of its stages (each activated as an endpoint of its own). An endpoint that cannot serve
keeps the error that says why, raised to each request. The table is rebuilt when the audit
log shows a change made by any process sharing the database, and is swapped in one
assignment, so a request sees the old table or the new one, never a mix.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass, field, replace

import sqlalchemy as sa

from champion import audit
from champion.db import read
from champion.db.kept import KeptQuery
from champion.errors import ChampionError
from champion.events.arms import arm_rewards
from champion.metrics import Metrics
from champion.registry import Registry, VersionKey
from champion.serving.endpoints import EndpointConfig, Endpoints
from champion.serving.policies import BanditPolicy, Policy
from champion.serving.runtime import LoadedVersion, Runtime
from champion.serving.stages import STAGES, Stage, parse_stages

__all__ = ["ActiveEndpoint", "ActiveEndpoints"]

logger = logging.getLogger("champion.serving")


@dataclass(frozen=True)
class ActiveEndpoint:
    """One endpoint's routing state, as built from its configuration."""

    config: EndpointConfig
    policy: Policy | None
    kind: str | None
    salt: str = ""
    error: ChampionError | None = None
    loaded: dict[VersionKey, LoadedVersion] = field(default_factory=dict)
    stages: tuple[Stage, ...] = ()
    chain: tuple[ActiveEndpoint, ...] = ()
    """A pipeline endpoint's stages, each served as an endpoint of its own."""


class ActiveEndpoints:
    """Every configured endpoint's :class:`ActiveEndpoint`, kept in step with the database."""

    def __init__(
        self,
        engine: sa.Engine,
        registry: Registry,
        endpoints: Endpoints,
        runtime: Runtime,
        metrics: Metrics,
    ) -> None:
        self.engine = engine
        self.registry = registry
        self.endpoints = endpoints
        self.runtime = runtime
        self.metrics = metrics
        self._active: dict[str, ActiveEndpoint] = {}
        self._seen_audit_id = -1
        # Looked up twice a second by every server process: on a connection of its own.
        self._latest = KeptQuery(engine, audit.LATEST_AUDIT_ID)
        self._refresh_lock = threading.Lock()

    def refresh(self, force: bool = False) -> bool:
        """Rebuild every endpoint's routing if anything changed since the last look."""
        with self._refresh_lock:
            latest = int(self._latest.scalar())
            if latest == self._seen_audit_id and not force:
                return False
            active = {c.name: self._activate(c) for c in self.endpoints.list_endpoints()}
            self._active = active  # one assignment: a request sees the old or the new state
            self._seen_audit_id = latest
            return True

    def refresh_rewards(self) -> None:
        """Give bandits their arms' latest (successes, trials) from feedback.

        A bandit on a pipeline endpoint's stage learns from feedback on the endpoint's
        requests: each request's own event carries the arm the stage under test (the
        bandit's, the one stage with a rollout) assigned it (``serving.chain``)."""
        with self._refresh_lock:
            updated = dict(self._active)
            for name, active in self._active.items():
                if isinstance(active.policy, BanditPolicy):
                    updated[name] = replace(
                        active, policy=self._rewarded(name, active.config, active.policy)
                    )
                elif any(isinstance(stage.policy, BanditPolicy) for stage in active.chain):
                    chain = tuple(
                        replace(stage, policy=self._rewarded(name, active.config, stage.policy))
                        if isinstance(stage.policy, BanditPolicy)
                        else stage
                        for stage in active.chain
                    )
                    updated[name] = replace(active, chain=chain)
            self._active = updated

    def status(self) -> dict[str, ActiveEndpoint]:
        return dict(self._active)

    def close(self) -> None:
        """Close the connection the refreshes keep."""
        self._latest.close()

    def get(self, name: str) -> ActiveEndpoint:
        """The endpoint ``name`` ready to serve.

        Raises
        ------
        NotFound
            No endpoint has that name (the message lists the known ones).
        ChampionError
            The endpoint cannot serve: the error its activation met, counted under its name.
        """
        active = self._active.get(name)
        if active is None:
            self.endpoints.get(name)  # raises NotFound with the known names
            self.refresh(force=True)
            active = self._active[name]
        if active.error is not None:
            self.metrics.errors.labels(name, active.error.code).inc()
            raise active.error
        return active

    def _rewarded(self, name: str, config: EndpointConfig, bandit: BanditPolicy) -> BanditPolicy:
        with read(self.engine) as conn:
            counts = arm_rewards(conn, name, config.config_version, bandit.reward)
        return bandit.with_counts(counts)

    def _activate(self, config: EndpointConfig) -> ActiveEndpoint:
        if config.policy == STAGES:
            return self._activate_stages(config)
        factory = self.endpoints.policies.get(config.policy)
        try:
            policy = factory.build(config.params, lambda ref: self.registry.resolve(ref).key)
            loaded = {key: self.runtime.get(key) for key in policy.versions()}
        except ChampionError as exc:
            logger.error("Endpoint %r cannot serve: %s", config.name, exc.message)
            return ActiveEndpoint(config, None, None, error=exc)
        kinds = {lv.version.kind for lv in loaded.values()}
        return ActiveEndpoint(
            config, policy, kinds.pop(), _salt(config.salt, policy), loaded=loaded
        )

    def _activate_stages(self, config: EndpointConfig) -> ActiveEndpoint:
        try:
            stages = parse_stages(config.params)
        except ChampionError as exc:
            return ActiveEndpoint(config, None, None, error=exc)
        chain = tuple(
            self._activate(self.endpoints.stage_config(config, stage.name)) for stage in stages
        )
        broken = next((active.error for active in chain if active.error is not None), None)
        loaded = {key: lv for active in chain for key, lv in active.loaded.items()}
        return ActiveEndpoint(
            config, None, chain[-1].kind, error=broken, loaded=loaded, stages=stages, chain=chain
        )


def _salt(endpoint_salt: str, policy: Policy) -> str:
    """Each experiment (set of versions) gets its own salt; ramping a share keeps it."""
    versions = "+".join(sorted(str(key) for key in policy.versions()))
    return hashlib.blake2b(f"{endpoint_salt}|{versions}".encode(), digest_size=8).hexdigest()
