"""predict and rank: route → call → credit → hand the event to the writer.

Transport-agnostic: the HTTP API and tests call these methods directly.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from champion import audit
from champion.clock import Clock
from champion.db import read
from champion.errors import ChampionError, InvalidInput, ModelFailed
from champion.events import PredictionEvent, PredictionWriter, ShownItem
from champion.metrics import Metrics
from champion.registry import Registry, VersionKey
from champion.serving.assignment import bucket
from champion.serving.endpoints import EndpointConfig, Endpoints
from champion.serving.policies import Policy, Served
from champion.serving.runtime import LoadedVersion, Runtime
from champion.types import Instance, Json

__all__ = ["Answer", "ServingService"]

logger = logging.getLogger("champion.serving")


@dataclass(frozen=True)
class Answer:
    request_id: str
    endpoint: str
    served: Served
    arm: str
    latency_ms: float


@dataclass(frozen=True)
class _Active:
    config: EndpointConfig
    policy: Policy | None
    kind: str | None
    error: ChampionError | None = None
    loaded: dict[VersionKey, LoadedVersion] = field(default_factory=dict)


class ServingService:
    """Serves every configured endpoint; notices changes made by any process sharing the DB."""

    def __init__(
        self,
        engine: sa.Engine,
        registry: Registry,
        endpoints: Endpoints,
        runtime: Runtime,
        writer: PredictionWriter,
        metrics: Metrics,
        clock: Clock,
        *,
        timeout_seconds: float,
        threads: int = 8,
    ) -> None:
        self.engine = engine
        self.registry = registry
        self.endpoints = endpoints
        self.runtime = runtime
        self.writer = writer
        self.metrics = metrics
        self.clock = clock
        self.timeout_seconds = timeout_seconds
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="champion-model")
        self._active: dict[str, _Active] = {}
        self._seen_audit_id = -1
        self._refresh_lock = threading.Lock()

    # -- state ---------------------------------------------------------------------------

    def refresh(self, force: bool = False) -> bool:
        """Rebuild every endpoint's routing if anything changed since the last look."""
        with self._refresh_lock:
            with read(self.engine) as conn:
                latest = audit.latest_audit_id(conn)
            if latest == self._seen_audit_id and not force:
                return False
            active = {
                config.name: self._activate(config) for config in self.endpoints.list_endpoints()
            }
            self._active = active  # one assignment: a request sees the old or the new state
            self._seen_audit_id = latest
            return True

    def _activate(self, config: EndpointConfig) -> _Active:
        factory = self.endpoints.policies.get(config.policy)
        try:
            policy = factory.build(config.params, lambda ref: self.registry.resolve(ref).key)
            loaded = {key: self.runtime.get(key) for key in policy.versions()}
        except ChampionError as exc:
            logger.error("Endpoint %r cannot serve: %s", config.name, exc.message)
            return _Active(config, None, None, exc)
        kinds = {lv.version.kind for lv in loaded.values()}
        return _Active(config, policy, kinds.pop(), loaded=loaded)

    def status(self) -> dict[str, _Active]:
        return dict(self._active)

    def _endpoint(self, name: str) -> _Active:
        active = self._active.get(name)
        if active is None:
            self.endpoints.get(name)  # raises NotFound with the known names
            self.refresh(force=True)
            active = self._active[name]
        if active.error is not None:
            raise active.error
        return active

    # -- requests ------------------------------------------------------------------------

    async def predict(self, endpoint: str, unit: str | None, instances: list[Instance]) -> Answer:
        active = self._endpoint(endpoint)
        if active.kind == "ranker":
            raise InvalidInput(
                f"Endpoint {endpoint!r} serves a ranker: call /v1/endpoints/{endpoint}/rank."
            )
        return await self._serve(active, unit, instances, None)

    async def rank(
        self, endpoint: str, unit: str | None, k: int, context: dict[str, Any]
    ) -> Answer:
        active = self._endpoint(endpoint)
        if active.kind != "ranker":
            raise InvalidInput(
                f"Endpoint {endpoint!r} serves a {active.kind}: call "
                f"/v1/endpoints/{endpoint}/predict."
            )
        return await self._serve(active, unit, context, k)

    async def _serve(
        self, active: _Active, unit: str | None, payload: Any, k: int | None
    ) -> Answer:
        assert active.policy is not None  # _endpoint raised for inactive endpoints
        name = active.config.name
        request_id = uuid.uuid4().hex
        randomised = unit is None
        unit_id = request_id if unit is None else unit
        assigned = bucket(active.config.salt, unit_id)
        route = active.policy.route(unit_id, assigned, payload if k is not None else {})
        answering = active.loaded[route.answer]
        ranking = k is not None
        if k is not None:
            context = (
                answering.check_inputs([payload])[0]
                if answering.check_inputs.fields
                else dict(payload)
            )
            call = lambda: answering.model.rank(unit, context, k)  # noqa: E731
        else:
            rows = answering.check_inputs(payload)
            call = lambda: answering.model.predict(rows)  # noqa: E731
        started = time.perf_counter()
        outputs = await self._call(name, answering, call)
        latency_ms = (time.perf_counter() - started) * 1000.0
        served = active.policy.attribute(route, {route.answer: outputs}, ranking=ranking)
        version = served.version
        self.metrics.requests.labels(name, version.model, str(version.number), route.arm).inc()
        self.metrics.latency.labels(name, version.model, str(version.number)).observe(
            latency_ms / 1000.0
        )
        self.writer.submit(
            PredictionEvent(
                request_id=request_id,
                endpoint=name,
                config_version=active.config.config_version,
                unit=unit_id,
                unit_randomised=randomised,
                arm=route.arm,
                bucket=route.bucket,
                model=version.model,
                version=version.number,
                kind="rank" if ranking else "predict",
                inputs={"context": payload, "k": k} if ranking else payload,
                outputs=[[i.item, i.score] for i in served.items] if ranking else served.outputs,
                latency_ms=latency_ms,
                at=self.clock.now(),
                items=tuple(
                    ShownItem(str(i.item), i.position, i.credit.model, i.credit.number)
                    for i in served.items
                ),
            )
        )
        return Answer(request_id, name, served, route.arm, latency_ms)

    async def _call(self, endpoint: str, loaded: LoadedVersion, call: Any) -> list[Json]:
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(
                loop.run_in_executor(self._executor, call), self.timeout_seconds
            )
        except ChampionError:
            raise
        except TimeoutError:
            self.metrics.errors.labels(endpoint, "ModelFailed").inc()
            raise ModelFailed(
                f"Version {loaded.version.key} did not answer within {self.timeout_seconds:g} s."
            ) from None
        except Exception as exc:
            self.metrics.errors.labels(endpoint, "ModelFailed").inc()
            logger.exception("Version %s failed", loaded.version.key)
            raise ModelFailed(
                f"Version {loaded.version.key} failed: {type(exc).__name__}: {exc}"
            ) from None

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
