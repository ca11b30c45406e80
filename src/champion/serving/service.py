"""The request path: predict and rank, route → call → credit → hand the event to the writer.

Transport-agnostic: the HTTP API and tests call these methods directly. Which endpoints serve
what is the active endpoint table's (:mod:`champion.serving.active`); shadow calls run off the
response path in :mod:`champion.serving.shadows`; one version's call (inline or in its
threads, alone or batched, with its timeout) is made by :mod:`champion.serving.calls`. This
module calls the versions a request is routed to, falls back, counts and times the request,
and logs the prediction event.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from champion.clock import Clock
from champion.errors import ChampionError, InvalidInput, NotFound
from champion.events import PredictionEvent, PredictionWriter, ShownItem
from champion.ids import time_ordered_id
from champion.metrics import Metrics
from champion.observability import Tracing, current_request
from champion.registry import Registry, VersionKey
from champion.serving.active import ActiveEndpoint, ActiveEndpoints
from champion.serving.assignment import bucket
from champion.serving.calls import VersionCalls
from champion.serving.chain import ChainRequest, StageAnswer, StageRecord, run_stages
from champion.serving.draws import RequestRandom
from champion.serving.endpoints import Endpoints
from champion.serving.placement import CallPlacement
from champion.serving.policies import Assignment, Route, Served, single_answer
from champion.serving.runtime import Runtime
from champion.serving.shadows import Shadows
from champion.serving.timing import StageTimings
from champion.types import Instance, Json

__all__ = ["Answer", "ServingService"]

if TYPE_CHECKING:
    from opentelemetry.trace import Span

_NO_SPAN = contextlib.nullcontext(None)  # reusable: enters and leaves without state


@dataclass(frozen=True)
class Answer:
    request_id: str
    endpoint: str
    served: Served
    arm: str
    latency_ms: float
    fallback_from: str | None = None
    stages: tuple[StageAnswer, ...] = ()
    """A pipeline endpoint's: what each stage did, in order."""


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
        self.tracing = tracing
        self.calls = VersionCalls(
            metrics,
            CallPlacement(inline_call_seconds),
            timeout_seconds=timeout_seconds,
            threads_per_version=threads_per_version,
            tracing=tracing,
        )
        self.active = ActiveEndpoints(engine, registry, endpoints, runtime, metrics)
        self.shadows = Shadows(writer, metrics, clock, self.calls.shadow)
        self._metric_series: dict[tuple[str, VersionKey, str], tuple[Any, Any]] = {}
        self.stages = StageTimings()

    # The version calls' settings, read here as before they had a module of their own.

    @property
    def timeout_seconds(self) -> float:
        """Seconds a version's call may take when its route sets no timeout."""
        return self.calls.timeout_seconds

    @property
    def threads_per_version(self) -> int:
        return self.calls.threads_per_version

    @property
    def placement(self) -> CallPlacement:
        return self.calls.placement

    # -- state ---------------------------------------------------------------------------

    def refresh(self, force: bool = False) -> bool:
        """Rebuild every endpoint's routing if anything changed since the last look."""
        return self.active.refresh(force)

    def refresh_rewards(self) -> None:
        """Give bandits their arms' latest (successes, trials) from feedback."""
        self.active.refresh_rewards()

    def status(self) -> dict[str, ActiveEndpoint]:
        return self.active.status()

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
        active = self.active.get(endpoint)
        if active.kind == "ranker":
            raise InvalidInput(
                f"Endpoint {endpoint!r} serves a ranker: call /v1/endpoints/{endpoint}/rank."
            )
        if version is not None and active.chain:
            raise InvalidInput(
                f"Endpoint {endpoint!r} runs stages: it answers through all of them, so no "
                f"one version can be asked alone; ask {version} at an endpoint of its own."
            )
        if version is not None and version not in active.loaded:
            served = ", ".join(str(key) for key in active.loaded)
            raise NotFound(f"Endpoint {endpoint!r} serves {served}, not {version}.")
        if active.chain:
            return await self._serve_stages(active, unit, instances, None)
        return await self._serve(active, unit, instances, None, version)

    async def rank(
        self, endpoint: str, unit: str | None, k: int, context: dict[str, Any]
    ) -> Answer:
        active = self.active.get(endpoint)
        if active.kind != "ranker":
            raise InvalidInput(
                f"Endpoint {endpoint!r} serves a {active.kind}: call "
                f"/v1/endpoints/{endpoint}/predict."
            )
        if active.chain:
            return await self._serve_stages(active, unit, context, k)
        return await self._serve(active, unit, context, k)

    async def _serve_stages(
        self, active: ActiveEndpoint, unit: str | None, payload: Any, k: int | None
    ) -> Answer:
        """Run the request through a pipeline endpoint's stages (see ``serving.chain``)."""
        context = current_request()
        request = ChainRequest(
            time_ordered_id() if context is None else context.event_id(), active.stages
        )
        started = time.perf_counter()
        try:
            done = await run_stages(
                request,
                active.chain,
                [stage.kind for stage in active.chain],
                unit,
                payload,
                k,
                lambda stage, unit_, inputs, k_, record: self._serve(
                    stage, unit_, inputs, k_, stage=record
                ),
            )
        except ChampionError as exc:
            # Counted once under the stage it failed at, once under the endpoint (the last
            # stage's name is the endpoint's).
            failed = next(
                a
                for s, a in zip(active.stages, active.chain, strict=True)
                if s.name == request.failed
            )
            if not request.counted:
                self.metrics.errors.labels(failed.config.name, exc.code).inc()
            if failed.config.name != active.config.name:
                self.metrics.errors.labels(active.config.name, exc.code).inc()
            raise
        final = request.final
        assert final is not None  # run_stages sets it after the last stage
        arm = request.assigned[0] if request.assigned is not None else final.arm
        if context is not None:
            context.endpoint = active.config.name
            context.arm = arm
            context.versions = tuple(str(stage.version) for stage in done)
        fallback = ",".join(s.fallback_from for s in done if s.fallback_from is not None)
        return Answer(
            request.request_id,
            active.config.name,
            final.served,
            arm,
            (time.perf_counter() - started) * 1000.0,
            fallback or None,
            tuple(done),
        )

    async def _serve(
        self,
        active: ActiveEndpoint,
        unit: str | None,
        payload: Any,
        k: int | None,
        pinned: VersionKey | None = None,
        *,
        stage: StageRecord | None = None,
    ) -> Answer:
        try:
            return await self._route_and_call(active, unit, payload, k, pinned, stage)
        except ChampionError as exc:
            self.metrics.errors.labels(active.config.name, exc.code).inc()
            raise

    async def _route_and_call(
        self,
        active: ActiveEndpoint,
        unit: str | None,
        payload: Any,
        k: int | None,
        pinned: VersionKey | None,
        stage: StageRecord | None = None,
    ) -> Answer:
        policy = active.policy
        assert policy is not None  # active.get raised for endpoints that cannot serve
        name = active.config.name
        routing_started = time.perf_counter()
        context = current_request()
        if stage is not None:
            request_id = stage.event_id
        else:
            request_id = time_ordered_id() if context is None else context.event_id()
        if context is not None:
            context.endpoint = name
        unit_id = request_id if unit is None else unit
        # Per-request randomness (coins of interleaving, bandit draws), reproducible from the id.
        rng = RequestRandom(request_id)
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
        at = self.clock.now()
        client_request_id = None if context is None else context.client_request_id
        trace_id = None if self.tracing is None else self.tracing.trace_id()

        def event() -> PredictionEvent:
            # Positional, in the table's column order: one is made for every request.
            built = PredictionEvent(
                request_id,
                name,
                active.config.config_version,
                unit_id,
                unit is None,
                route.arm,
                assignment.bucket,
                version.model,
                version.number,
                "predict" if k is None else "rank",
                payload if k is None else {"context": payload, "k": k},
                served.outputs if k is None else [[i.item, i.score] for i in served.items],
                latency_ms,
                at,
                fallback_from,
                route.probability,
                client_request_id,
                trace_id,
                None,
                tuple(
                    ShownItem(str(i.item), i.position, i.credit.model, i.credit.number)
                    for i in served.items
                )
                if served.items
                else (),
            )
            return built if stage is None else stage.relabel(built)

        if self.tracing is None:
            # Built and encoded once the response is on its way: off its latency.
            self.writer.submit_later(event)
        else:
            with self._span("champion.event") as span:
                self._submit(span, event())
        self.stages.observe(
            name,
            version,
            started - routing_started,
            answered - started,
            time.perf_counter() - answered,
        )
        for shadow in route.shadows:
            self.shadows.start(active, route, shadow, request_id, unit, payload, k)
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
        active: ActiveEndpoint,
        route: Route,
        versions: tuple[VersionKey, ...],
        unit: str | None,
        payload: Any,
        k: int | None,
        role: str = "served",
    ) -> tuple[dict[VersionKey, list[Json]], dict[VersionKey, ChampionError]]:
        """Call ``versions`` concurrently; return their outputs and their failures."""
        calls = self.calls
        outputs: dict[VersionKey, list[Json]] = {}
        failed: dict[VersionKey, ChampionError] = {}
        bound = []
        for key in versions:
            try:
                bound.append((key, calls.bind(active.loaded[key], unit, payload, k)))
            except InvalidInput as exc:
                # The answering version's signature decides what is bad input; another
                # version refusing the same input is that version's failure.
                if key == route.fallback or route.fallback is None:
                    raise
                failed[key] = exc
                calls.count_failure(active.config.name, key, "input")
        timeout = route.timeout_seconds or calls.timeout_seconds
        results: list[Any]
        if len(bound) == 1:  # the common case: no gather, one task fewer per request
            key, call = bound[0]
            try:
                results = [await calls.answer(active, key, call, timeout, route.arm, role, True)]
            except ChampionError as exc:
                results = [exc]
        else:
            results = await asyncio.gather(
                *(
                    calls.answer(active, key, call, timeout, route.arm, role, False)
                    for key, call in bound
                ),
                return_exceptions=True,
            )
        for (key, _), result in zip(bound, results, strict=True):
            if isinstance(result, ChampionError):
                failed[key] = result
            elif isinstance(result, BaseException):
                raise result
            else:
                outputs[key] = result
        return outputs, failed

    def close(self) -> None:
        """Cancel the shadow calls, close the batchers, shut the versions' threads down and
        close the connection the state refreshes keep."""
        self.shadows.close()
        self.calls.close()
        self.active.close()


def _arm(route: Route) -> dict[str, str]:
    return {
        "champion.arm": route.arm,
        "champion.versions": ",".join(str(key) for key in route.calls),
        "champion.shadows": ",".join(str(key) for key in route.shadows),
    }
