"""Endpoints and their versioned, audited policy configurations."""

from __future__ import annotations

import random
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from champion import audit
from champion.clock import Clock
from champion.db import read, write
from champion.errors import ChampionError, InvalidInput, NotFound
from champion.plugins import Registry as PluginRegistry
from champion.registry import Registry
from champion.registry.entities import VersionKey, VersionRef, check_name
from champion.serving.batching import Batching, batching_of
from champion.serving.policies import Assignment, Policy, PolicyFactory
from champion.serving.stage_checks import check_stages
from champion.serving.stages import STAGES, parse_stages, stage_endpoint, with_policy_under_test
from champion.serving.tables import endpoint_configs, endpoints

__all__ = ["KEEP", "EndpointConfig", "Endpoints"]

KEEP: Any = object()
"""``Endpoints.set(batching=KEEP)``: the configuration keeps the endpoint's batching (a
ramp or a promotion changes versions, not how calls are gathered)."""


@dataclass(frozen=True)
class EndpointConfig:
    name: str
    config_version: int
    policy: str
    params: dict[str, Any]
    salt: str
    updated_at: datetime
    updated_by: str
    reason: str = ""
    batching: Batching | None = None


class Endpoints:
    """Reads and changes endpoint configurations; each change is a new audited version."""

    def __init__(
        self,
        engine: sa.Engine,
        registry: Registry,
        policies: PluginRegistry[PolicyFactory],
        clock: Clock,
    ) -> None:
        self.engine = engine
        self.registry = registry
        self.policies = policies
        self.clock = clock

    def validate(
        self, policy: str, params: Mapping[str, Any], *, endpoint: str | None = None
    ) -> list[str]:
        """Check the policy and its parameters; every version they name must exist. A
        pipeline endpoint's (policy ``stages``) is held to each stage's signature."""
        if policy == STAGES:
            return check_stages(endpoint, params, self.policies, self.registry.resolve)
        factory = self.policies.get(policy)
        references = factory.references(params)
        kinds = {ref: self.registry.resolve(ref).kind for ref in references}
        if len(set(kinds.values())) > 1:
            listed = ", ".join(f"{ref} is a {kind}" for ref, kind in kinds.items())
            raise InvalidInput(f"An endpoint serves one kind of model, but {listed}.")
        wrong = {
            ref: kind
            for ref, kind in kinds.items()
            if factory.kinds is not None and kind not in factory.kinds
        }
        if wrong:
            listed = ", ".join(f"{ref} is a {kind}" for ref, kind in wrong.items())
            raise InvalidInput(
                f"The {policy} policy serves {' or '.join(sorted(factory.kinds or ()))} "
                f"models only, but {listed}."
            )
        return references

    def models(self, policy: str, params: Mapping[str, Any]) -> list[str]:
        """The models whose versions a configuration names (for the audit log's details)."""
        try:
            references = self.references(policy, params)
        except ChampionError:
            return []
        return sorted({VersionRef.parse(ref).model for ref in references})

    def references(self, policy: str, params: Mapping[str, Any]) -> list[str]:
        """Every version reference a configuration names (a pipeline endpoint's: its
        stages', in order), unchecked against the registry."""
        if policy != STAGES:
            return self.policies.get(policy).references(params)
        return [
            ref
            for stage in parse_stages(params)
            for ref in self.policies.get(stage.policy).references(stage.params)
        ]

    def set(
        self,
        name: str,
        policy: str,
        params: Mapping[str, Any],
        *,
        actor: str,
        reason: str = "",
        salt: str | None = None,
        conn: sa.Connection | None = None,
        batching: Batching | Mapping[str, Any] | None = KEEP,
    ) -> EndpointConfig:
        """Store a new configuration of ``name``; with ``conn``, inside the caller's write
        transaction (so a rollout's policy change and alias moves commit together).

        ``batching``: adaptive batching settings, None for off; by default the endpoint's
        current batching is kept."""
        check_name("endpoint", name)
        self.validate(policy, params, endpoint=name)
        chosen = batching if batching is KEEP else batching_of(batching)
        if conn is not None:
            return self._set(conn, name, policy, params, actor, reason, salt, chosen)
        with write(self.engine) as own:
            return self._set(own, name, policy, params, actor, reason, salt, chosen)

    def set_arms(
        self,
        name: str,
        policy: str,
        params: Mapping[str, Any],
        *,
        actor: str,
        reason: str = "",
        conn: sa.Connection | None = None,
    ) -> EndpointConfig:
        """Set what the endpoint's experiment compares (a ramp, a promotion, a rollback): the
        endpoint's policy, or a pipeline endpoint's stage under test's, the others kept."""
        current = self.get(name, conn=conn)
        if current.policy == STAGES:
            params, policy = with_policy_under_test(current.params, policy, params), STAGES
        return self.set(name, policy, params, actor=actor, reason=reason, conn=conn)

    def _set(
        self,
        conn: sa.Connection,
        name: str,
        policy: str,
        params: Mapping[str, Any],
        actor: str,
        reason: str,
        salt: str | None,
        batching: Batching | None,
    ) -> EndpointConfig:
        now = self.clock.now()
        current = conn.execute(sa.select(endpoints).where(endpoints.c.name == name)).first()
        if batching is KEEP:
            stored = current.batching if current is not None else None
        else:
            stored = None if batching is None else batching.model_dump()
        # A removed endpoint keeps its history: one created again under its name goes on
        # from its last configuration number.
        last = conn.execute(
            sa.select(sa.func.max(endpoint_configs.c.config_version)).where(
                endpoint_configs.c.endpoint == name
            )
        ).scalar()
        version = (last or 0) + 1
        # The salt decides every unit's bucket: keep it unless asked, so users keep arms.
        chosen_salt = salt or (current.salt if current is not None else secrets.token_hex(8))
        values = dict(
            config_version=version,
            policy=policy,
            params=dict(params),
            salt=chosen_salt,
            updated_at=now,
            updated_by=actor,
            batching=stored,
        )
        if current is None:
            conn.execute(endpoints.insert().values(name=name, **values))
        else:
            conn.execute(endpoints.update().where(endpoints.c.name == name).values(**values))
        conn.execute(
            endpoint_configs.insert().values(
                endpoint=name,
                config_version=version,
                policy=policy,
                params=dict(params),
                salt=chosen_salt,
                created_at=now,
                created_by=actor,
                reason=reason,
                batching=stored,
            )
        )
        audit.record(
            conn,
            at=now,
            actor=actor,
            action="endpoint.configure",
            target=name,
            details={
                **audit.subject(self.models(policy, params)),
                "config_version": version,
                "policy": policy,
                "params": dict(params),
                "batching": stored,
                "previous": None
                if current is None
                else {"policy": current.policy, "params": current.params},
            },
            reason=reason,
        )
        return self._get(conn, name)

    def remove(
        self, conn: sa.Connection, name: str, *, actor: str, reason: str = ""
    ) -> EndpointConfig:
        """Delete ``name`` inside the caller's write transaction; its configuration history
        stays (the audit log and past experiments refer to it). Servers stop serving it at
        their next look. Refusing while an experiment runs is the caller's part
        (``Experiments.remove_endpoint``)."""
        current = self._get(conn, name)
        conn.execute(endpoints.delete().where(endpoints.c.name == name))
        audit.record(
            conn,
            at=self.clock.now(),
            actor=actor,
            action="endpoint.remove",
            target=name,
            details={
                **audit.subject(self.models(current.policy, current.params)),
                "config_version": current.config_version,
                "policy": current.policy,
                "params": current.params,
            },
            reason=reason,
        )
        return current

    def get(self, name: str, *, conn: sa.Connection | None = None) -> EndpointConfig:
        """The current configuration (with ``conn``: as the caller's transaction sees it)."""
        if conn is not None:
            return self._get(conn, name)
        with read(self.engine) as own:
            return self._get(own, name)

    def _get(self, conn: sa.Connection, name: str) -> EndpointConfig:
        row = conn.execute(sa.select(endpoints).where(endpoints.c.name == name)).first()
        if row is None:
            known = conn.execute(sa.select(endpoints.c.name).order_by(endpoints.c.name))
            raise NotFound(
                f"Unknown endpoint {name!r}. Endpoints: {', '.join(known.scalars()) or '(none)'}."
            )
        return _config(row._mapping)

    def live_version(self, name: str) -> VersionKey:
        """The version that answers for ``name`` under its current configuration when no
        other does: the champion (``single``'s version, the live colour of ``blue_green``,
        the control arm of ``ab``, the champion of ``canary``, ``shadow`` and ``interleave``).
        ``name`` may be a pipeline endpoint's stage as its events are logged
        (``<endpoint>:<stage>``; the endpoint's own name is its last stage).

        It is read from the policy itself, so a third-party policy gets the same answer: the
        fallback of a route, or the only version a route without fallback calls.
        """
        policy = self._policy(self.logged_config(name))
        # A fixed, non-randomised assignment: the policy is pure, so any route will do, and
        # every route names the champion as its fallback or calls it alone.
        route = policy.route(Assignment("", 0, False, {}, random.Random(0)))
        return route.fallback if route.fallback is not None else route.calls[0]

    def configured_versions(self, name: str) -> tuple[VersionKey, ...]:
        """Every version the current configuration of ``name`` (as ``live_version`` reads
        it) may call (aliases resolved)."""
        return self._policy(self.logged_config(name)).versions()

    def logged_config(self, name: str) -> EndpointConfig:
        """The configuration whose prediction events are logged under the endpoint ``name``:
        an endpoint's own, or a pipeline endpoint's stage (``<endpoint>:<stage>``, or the
        endpoint's name for its last stage) as an endpoint of its own."""
        endpoint, colon, stage = name.partition(":")
        config = self.get(endpoint)
        if config.policy != STAGES and not colon:
            return config
        return self.stage_config(config, stage if colon else None)

    @staticmethod
    def stage_config(config: EndpointConfig, stage: str | None) -> EndpointConfig:
        """A pipeline endpoint's ``stage`` (default: the last) as an endpoint of its own,
        named as its events are logged (``serving.stages``), with its own salt."""
        if config.policy != STAGES:
            raise InvalidInput(
                f"Endpoint {config.name!r} has no stages (it runs the {config.policy} "
                f"policy); leave 'stage' out. Got stage={stage!r}."
            )
        stages = parse_stages(config.params)
        chosen = stages[-1] if stage is None else next((s for s in stages if s.name == stage), None)
        if chosen is None:
            raise NotFound(
                f"Endpoint {config.name!r} has no stage {stage!r}. Stages: "
                f"{', '.join(s.name for s in stages)}."
            )
        return replace(
            config,
            name=stage_endpoint(config.name, chosen.name, stages),
            policy=chosen.policy,
            params=dict(chosen.params),
            salt=f"{config.salt}|{chosen.name}",  # each stage assigns units anew
        )

    def _policy(self, config: EndpointConfig) -> Policy:
        return self.policies.get(config.policy).build(
            config.params, lambda ref: self.registry.resolve(ref).key
        )

    def serving(self, conn: sa.Connection, key: VersionKey) -> list[str]:
        """The endpoints whose configuration names ``key`` by number (``recs/3``); one that
        names it through an alias holds it through that alias. A deletion guard."""
        found = []
        for row in conn.execute(sa.select(endpoints).order_by(endpoints.c.name)):
            try:
                refs = self.references(row.policy, row.params)
            except ChampionError:
                continue  # a configuration its policy no longer reads names nothing usable
            for ref in refs:
                parsed = VersionRef.parse(ref)
                if (parsed.model, parsed.number) == (key.model, key.number):
                    found.append(f"endpoint {row.name!r}")
                    break
        return found

    def list_endpoints(self) -> list[EndpointConfig]:
        with read(self.engine) as conn:
            rows = conn.execute(sa.select(endpoints).order_by(endpoints.c.name))
            return [_config(row._mapping) for row in rows]

    def history(self, name: str) -> list[EndpointConfig]:
        self.get(name)
        with read(self.engine) as conn:
            rows = conn.execute(
                sa.select(endpoint_configs)
                .where(endpoint_configs.c.endpoint == name)
                .order_by(endpoint_configs.c.config_version)
            )
            return [
                EndpointConfig(
                    name=row.endpoint,
                    config_version=row.config_version,
                    policy=row.policy,
                    params=row.params,
                    salt=row.salt,
                    updated_at=row.created_at,
                    updated_by=row.created_by,
                    reason=row.reason,
                    batching=batching_of(row.batching),
                )
                for row in rows
            ]


def _config(row: sa.RowMapping) -> EndpointConfig:
    return EndpointConfig(
        name=row["name"],
        config_version=row["config_version"],
        policy=row["policy"],
        params=row["params"],
        salt=row["salt"],
        updated_at=row["updated_at"],
        updated_by=row["updated_by"],
        batching=batching_of(row["batching"]),
    )
