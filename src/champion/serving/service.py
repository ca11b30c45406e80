"""predict and rank: route → call → credit → hand the event to the writer.

Transport-agnostic: the HTTP API and tests call these methods directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from champion import audit
from champion.clock import Clock
from champion.db import read
from champion.errors import ChampionError, InvalidInput, ModelFailed, NotFound
from champion.events import PredictionEvent, PredictionWriter, ShadowEvent, ShownItem
from champion.events.queries import arm_rewards
from champion.ids import time_ordered_id
from champion.metrics import Metrics
from champion.observability import Tracing, current_request
from champion.registry import Registry, VersionKey
from champion.serving.assignment import bucket
from champion.serving.endpoints import EndpointConfig, Endpoints
from champion.serving.placement import CallPlacement
from champion.serving.policies import Assignment, BanditPolicy, Policy, Route, Served, single_answer
from champion.serving.runtime import LoadedVersion, Runtime
from champion.serving.timing import StageTimings
from champion.types import Instance, Json

__all__ = ["Answer", "ServingService"]

if TYPE_CHECKING:
    from opentelemetry.trace import Span

logger = logging.getLogger("champion.serving")

_SHADOW_IN_FLIGHT = 4  # per shadow version; beyond this, shadow calls are skipped
_NO_SPAN = contextlib.nullcontext(None)  # reusable: enters and leaves without state


@dataclass(frozen=True)
class Answer:
    request_id: str
    endpoint: str
    served: Served
    arm: str
    latency_ms: float
    fallback_from: str | None = None


@dataclass(frozen=True)
class _Active:
    config: EndpointConfig
    policy: Policy | None
    kind: str | None
    salt: str = ""
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
        inline_call_seconds: float = 0.0,
        threads_per_version: int = 4,
        tracing: Tracing | None = None,
    ) -> None:
        self.engine = engine
        self.registry = registry
        self.endpoints = endpoints
        self.runtime = runtime
        self.writer = writer
        self.metrics = metrics
        self.clock = clock
        self.timeout_seconds = timeout_seconds
        self.threads_per_version = threads_per_version
        self.tracing = tracing
        self.placement = CallPlacement(inline_call_seconds)
        # Each version gets its own threads: a hanging challenger can only block itself.
        self._executors: dict[VersionKey, ThreadPoolExecutor] = {}
        self._shadow_slots: dict[VersionKey, threading.Semaphore] = {}
        self._shadow_tasks: set[asyncio.Future[None]] = set()
        self._active: dict[str, _Active] = {}
        self._metric_series: dict[tuple[str, VersionKey, str], tuple[Any, Any]] = {}
        self._seen_audit_id = -1
        self._refresh_lock = threading.Lock()
        self.stages = StageTimings()

    # -- state ---------------------------------------------------------------------------

    def refresh(self, force: bool = False) -> bool:
        """Rebuild every endpoint's routing if anything changed since the last look."""
        with self._refresh_lock:
            with read(self.engine) as conn:
                latest = audit.latest_audit_id(conn)
            if latest == self._seen_audit_id and not force:
                return False
            active = {c.name: self._activate(c) for c in self.endpoints.list_endpoints()}
            self._active = active  # one assignment: a request sees the old or the new state
            self._seen_audit_id = latest
            return True

    def refresh_rewards(self) -> None:
        """Give bandits their arms' latest (successes, trials) from feedback."""
        with self._refresh_lock:
            updated = dict(self._active)
            for name, active in self._active.items():
                if not isinstance(active.policy, BanditPolicy):
                    continue
                with read(self.engine) as conn:
                    counts = arm_rewards(
                        conn, name, active.config.config_version, active.policy.reward
                    )
                updated[name] = replace(active, policy=active.policy.with_counts(counts))
            self._active = updated

    def _activate(self, config: EndpointConfig) -> _Active:
        factory = self.endpoints.policies.get(config.policy)
        try:
            policy = factory.build(config.params, lambda ref: self.registry.resolve(ref).key)
            loaded = {key: self.runtime.get(key) for key in policy.versions()}
        except ChampionError as exc:
            logger.error("Endpoint %r cannot serve: %s", config.name, exc.message)
            return _Active(config, None, None, error=exc)
        kinds = {lv.version.kind for lv in loaded.values()}
        return _Active(config, policy, kinds.pop(), _salt(config.salt, policy), loaded=loaded)

    def status(self) -> dict[str, _Active]:
        return dict(self._active)

    def _endpoint(self, name: str) -> _Active:
        active = self._active.get(name)
        if active is None:
            self.endpoints.get(name)  # raises NotFound with the known names
            self.refresh(force=True)
            active = self._active[name]
        if active.error is not None:
            self.metrics.errors.labels(name, active.error.code).inc()
            raise active.error
        return active

    # -- requests ------------------------------------------------------------------------

    async def predict(
        self,
        endpoint: str,
        unit: str | None,
        instances: list[Instance],
        *,
        version: VersionKey | None = None,
    ) -> Answer:
        """Route ``instances`` through the endpoint's policy, or to ``version`` alone (one of
        the endpoint's versions; logged under the arm ``pinned``)."""
        active = self._endpoint(endpoint)
        if active.kind == "ranker":
            raise InvalidInput(
                f"Endpoint {endpoint!r} serves a ranker: call /v1/endpoints/{endpoint}/rank."
            )
        if version is not None and version not in active.loaded:
            served = ", ".join(str(key) for key in active.loaded)
            raise NotFound(f"Endpoint {endpoint!r} serves {served}, not {version}.")
        return await self._serve(active, unit, instances, None, version)

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
        self,
        active: _Active,
        unit: str | None,
        payload: Any,
        k: int | None,
        pinned: VersionKey | None = None,
    ) -> Answer:
        try:
            return await self._route_and_call(active, unit, payload, k, pinned)
        except ChampionError as exc:
            self.metrics.errors.labels(active.config.name, exc.code).inc()
            raise

    async def _route_and_call(
        self,
        active: _Active,
        unit: str | None,
        payload: Any,
        k: int | None,
        pinned: VersionKey | None,
    ) -> Answer:
        policy = active.policy
        assert policy is not None  # _endpoint raised for endpoints that cannot serve
        name = active.config.name
        routing_started = time.perf_counter()
        context = current_request()
        request_id = time_ordered_id() if context is None else context.event_id()
        if context is not None:
            context.endpoint = name
        unit_id = request_id if unit is None else unit
        # Per-request randomness (coins of interleaving, bandit draws), reproducible from the id.
        rng = random.Random(request_id)
        assignment = Assignment(
            unit_id,
            bucket(active.salt, unit_id),
            unit is None,
            payload if k is not None else {},
            rng,
        )
        with self._span("champion.route") as span:
            route = policy.route(assignment) if pinned is None else Route("pinned", (pinned,))
            if span is not None:
                span.set_attributes(
                    {"champion.endpoint": name, "champion.policy": policy.name, **_arm(route)}
                )
        if context is not None:
            context.arm = route.arm
        started = time.perf_counter()
        outputs, failed = await self._call_all(active, route, route.calls, unit, payload, k)
        fallback_from = None
        called = [*route.calls]
        if failed:
            fallback = route.fallback
            if fallback is None or fallback in failed:
                raise next(iter(failed.values()))
            fallback_from = ",".join(str(key) for key in failed)
            self.metrics.fallbacks.labels(name, fallback.model, str(fallback.number)).inc()
            if fallback not in outputs:
                called.append(fallback)
                more, again = await self._call_all(
                    active, route, (fallback,), unit, payload, k, role="fallback"
                )
                if again:
                    raise again[fallback]
                outputs.update(more)
            served = single_answer(fallback, outputs[fallback], ranking=k is not None, k=k or 0)
        else:
            served = (
                policy.attribute(route, outputs, ranking=k is not None, k=k or 0, rng=rng)
                if pinned is None
                else single_answer(pinned, outputs[pinned], ranking=False, k=0)
            )
        answered = time.perf_counter()
        latency_ms = (answered - started) * 1000.0
        version = served.version
        counter, histogram = self._series(name, version, route.arm)
        counter.inc()
        histogram.observe(latency_ms / 1000.0)
        if context is not None:
            context.version = str(version)
            context.versions = tuple(str(key) for key in (*called, *route.shadows))
        with self._span("champion.event") as span:
            self._submit(
                span,
                PredictionEvent(
                    request_id=request_id,
                    endpoint=name,
                    config_version=active.config.config_version,
                    unit=unit_id,
                    unit_randomised=unit is None,
                    arm=route.arm,
                    bucket=assignment.bucket,
                    model=version.model,
                    version=version.number,
                    kind="predict" if k is None else "rank",
                    inputs=payload if k is None else {"context": payload, "k": k},
                    outputs=served.outputs
                    if k is None
                    else [[i.item, i.score] for i in served.items],
                    latency_ms=latency_ms,
                    at=self.clock.now(),
                    items=tuple(
                        ShownItem(str(i.item), i.position, i.credit.model, i.credit.number)
                        for i in served.items
                    ),
                    fallback_from=fallback_from,
                    probability=route.probability,
                    client_request_id=None if context is None else context.client_request_id,
                    trace_id=None if self.tracing is None else self.tracing.trace_id(),
                ),
            )
        self.stages.observe(
            name,
            version,
            started - routing_started,
            answered - started,
            time.perf_counter() - answered,
        )
        for shadow in route.shadows:
            self._start_shadow(active, route, shadow, request_id, unit, payload, k)
        return Answer(request_id, name, served, route.arm, latency_ms, fallback_from)

    def _span(self, name: str) -> contextlib.AbstractContextManager[Span | None]:
        """A child span of the request's, or nothing (and no work) when tracing is off."""
        return _NO_SPAN if self.tracing is None else self.tracing.span(name)

    def _submit(self, span: Span | None, event: PredictionEvent) -> None:
        queued = self.writer.submit(event)
        if span is not None:
            span.set_attributes(
                {"champion.request_id": event.request_id, "champion.queued": queued}
            )

    def _series(self, endpoint: str, version: VersionKey, arm: str) -> tuple[Any, Any]:
        # prometheus' labels() takes a lock and builds a key on every call: keep the children.
        key = (endpoint, version, arm)
        series = self._metric_series.get(key)
        if series is None:
            labels = (endpoint, version.model, str(version.number), arm)
            series = (self.metrics.requests.labels(*labels), self.metrics.latency.labels(*labels))
            self._metric_series[key] = series
        return series

    async def _call_all(
        self,
        active: _Active,
        route: Route,
        versions: tuple[VersionKey, ...],
        unit: str | None,
        payload: Any,
        k: int | None,
        role: str = "served",
    ) -> tuple[dict[VersionKey, list[Json]], dict[VersionKey, ChampionError]]:
        """Call ``versions`` concurrently; return their outputs and their failures."""
        outputs: dict[VersionKey, list[Json]] = {}
        failed: dict[VersionKey, ChampionError] = {}
        calls = []
        for key in versions:
            try:
                calls.append((key, self._bind(active.loaded[key], unit, payload, k)))
            except InvalidInput as exc:
                # The answering version's signature decides what is bad input; another
                # version refusing the same input is that version's failure.
                if key == route.fallback or route.fallback is None:
                    raise
                failed[key] = exc
                self._count_failure(active.config.name, key, "input")
        timeout = route.timeout_seconds or self.timeout_seconds
        results: list[Any]
        if len(calls) == 1:  # the common case: no gather, one task fewer per request
            key, call = calls[0]
            try:
                results = [
                    await self._call(
                        active.config.name,
                        active.loaded[key],
                        call,
                        timeout,
                        may_inline=True,
                        arm=route.arm,
                        role=role,
                    )
                ]
            except ChampionError as exc:
                results = [exc]
        else:
            results = await asyncio.gather(
                *(
                    self._call(
                        active.config.name,
                        active.loaded[key],
                        call,
                        timeout,
                        arm=route.arm,
                        role=role,
                    )
                    for key, call in calls
                ),
                return_exceptions=True,
            )
        for (key, _), result in zip(calls, results, strict=True):
            if isinstance(result, ChampionError):
                failed[key] = result
            elif isinstance(result, BaseException):
                raise result
            else:
                outputs[key] = result
        return outputs, failed

    def _bind(self, loaded: LoadedVersion, unit: str | None, payload: Any, k: int | None) -> _Call:
        if k is None:
            rows = loaded.check_inputs(payload)
            return _Call(lambda: loaded.model.predict(rows), len(rows))
        context = loaded.check_inputs([payload])[0] if loaded.check_inputs.fields else payload
        return _Call(lambda: loaded.model.rank(unit, context, k), 1)

    async def _call(
        self,
        endpoint: str,
        loaded: LoadedVersion,
        call: _Call,
        timeout: float,
        *,
        may_inline: bool = False,
        arm: str = "",
        role: str = "served",
    ) -> list[Json]:
        """Run ``call`` inline when the placement says so (only calls a response waits for:
        a shadow's would hold up every other request), else in the version's threads.

        Traced, a span ``champion.call`` per call says which version ran, in which arm, and
        its ``role``: ``served`` (the answer waits for it), ``fallback`` or ``shadow``."""
        if self.tracing is None:
            return await self._run(endpoint, loaded, call, timeout, may_inline)
        with self.tracing.span("champion.call") as span:
            span.set_attributes(
                {
                    "champion.endpoint": endpoint,
                    "champion.version": str(loaded.version.key),
                    "champion.arm": arm,
                    "champion.role": role,
                }
            )
            return await self._run(endpoint, loaded, call, timeout, may_inline)

    async def _run(
        self,
        endpoint: str,
        loaded: LoadedVersion,
        call: _Call,
        timeout: float,
        may_inline: bool,
    ) -> list[Json]:
        key = loaded.version.key
        try:
            if (
                may_inline
                and loaded.model.pure_compute
                and self.placement.inline(key, call.instances)
            ):
                result, seconds = call.timed()
            else:
                loop = asyncio.get_running_loop()
                # asyncio.timeout, unlike wait_for, wraps no extra task around the call.
                async with asyncio.timeout(timeout):
                    result, seconds = await loop.run_in_executor(self._executor(key), call.timed)
            self.placement.observe(key, call.instances, seconds)
            return result
        except TimeoutError:
            self._count_failure(endpoint, key, "timeout")
            raise ModelFailed(f"Version {key} did not answer within {timeout:g} s.") from None
        except ChampionError:
            self._count_failure(endpoint, key, "error")
            raise
        except Exception as exc:
            self._count_failure(endpoint, key, "error")
            logger.exception("Version %s failed", key)
            raise ModelFailed(f"Version {key} failed: {type(exc).__name__}: {exc}") from None

    def _count_failure(self, endpoint: str, key: VersionKey, reason: str) -> None:
        self.metrics.version_failures.labels(endpoint, key.model, str(key.number), reason).inc()

    def _executor(self, key: VersionKey) -> ThreadPoolExecutor:
        executor = self._executors.get(key)
        if executor is None:
            executor = self._executors.setdefault(
                key,
                ThreadPoolExecutor(self.threads_per_version, thread_name_prefix=f"champion-{key}"),
            )
        return executor

    # -- shadows -------------------------------------------------------------------------

    def _start_shadow(
        self,
        active: _Active,
        route: Route,
        key: VersionKey,
        request_id: str,
        unit: str | None,
        payload: Any,
        k: int | None,
    ) -> None:
        slots = self._shadow_slots.setdefault(key, threading.Semaphore(_SHADOW_IN_FLIGHT))
        if not slots.acquire(blocking=False):
            self.metrics.shadows_skipped.labels(
                active.config.name, key.model, str(key.number)
            ).inc()
            return
        task = asyncio.ensure_future(self._shadow(active, route, key, request_id, unit, payload, k))
        self._shadow_tasks.add(task)

        def _done(finished: asyncio.Future[None]) -> None:
            self._shadow_tasks.discard(finished)
            slots.release()

        task.add_done_callback(_done)

    async def _shadow(
        self,
        active: _Active,
        route: Route,
        key: VersionKey,
        request_id: str,
        unit: str | None,
        payload: Any,
        k: int | None,
    ) -> None:
        started = time.perf_counter()
        outputs: Json = None
        error = None
        try:
            call = self._bind(active.loaded[key], unit, payload, k)
            timeout = route.timeout_seconds or self.timeout_seconds
            result = await self._call(
                active.config.name, active.loaded[key], call, timeout, arm=route.arm, role="shadow"
            )
            outputs = result if k is None else [[item, score] for item, score in result]
        except ChampionError as exc:
            error = exc.message
        self.writer.submit(
            ShadowEvent(
                request_id=request_id,
                endpoint=active.config.name,
                model=key.model,
                version=key.number,
                outputs=outputs,
                error=error,
                latency_ms=(time.perf_counter() - started) * 1000.0,
                at=self.clock.now(),
            )
        )

    def close(self) -> None:
        for task in list(self._shadow_tasks):
            task.cancel()
        for executor in self._executors.values():
            executor.shutdown(wait=False, cancel_futures=True)


@dataclass(frozen=True)
class _Call:
    """A bound model call and how many instances it carries."""

    run: Callable[[], Any]
    instances: int

    def timed(self) -> tuple[list[Json], float]:
        # Timed where it runs: in a thread, the hand-off's cost is not the model's.
        started = time.perf_counter()
        result: list[Json] = self.run()
        return result, time.perf_counter() - started


def _arm(route: Route) -> dict[str, str]:
    return {
        "champion.arm": route.arm,
        "champion.versions": ",".join(str(key) for key in route.calls),
        "champion.shadows": ",".join(str(key) for key in route.shadows),
    }


def _salt(endpoint_salt: str, policy: Policy) -> str:
    """Each experiment (set of versions) gets its own salt; ramping a share keeps it."""
    versions = "+".join(sorted(str(key) for key in policy.versions()))
    return hashlib.blake2b(f"{endpoint_salt}|{versions}".encode(), digest_size=8).hexdigest()
