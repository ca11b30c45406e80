"""Calling one loaded version: its input bound, the call placed, timed out, traced and counted.

The request path (:mod:`champion.serving.service`) decides which versions a request calls and
what a failure means for the response; shadows (:mod:`champion.serving.shadows`) call theirs
off the response path. Both call through :class:`VersionCalls`, which keeps what calling needs
from one request to the next: each version's own threads (a hanging version blocks only
itself), a batcher per version of each endpoint that batches (:mod:`champion.serving.batching`),
and where each call runs, inline or in those threads (:mod:`champion.serving.placement`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from champion.errors import ChampionError, ModelFailed
from champion.metrics import Metrics
from champion.observability import Tracing
from champion.registry import VersionKey
from champion.serving.active import ActiveEndpoint
from champion.serving.batching import Batcher, Batching
from champion.serving.placement import CallPlacement
from champion.serving.policies import Route
from champion.serving.runtime import LoadedVersion
from champion.types import Json

__all__ = ["BoundCall", "VersionCalls"]

logger = logging.getLogger("champion.serving")


@dataclass(frozen=True)
class BoundCall:
    """A model call bound to a request's checked input, and how many instances it carries."""

    run: Callable[[], Any]
    instances: int
    rows: list[dict[str, Any]] | None = None  # a prediction's checked rows (batching joins them)

    def timed(self) -> tuple[list[Json], float]:
        # The CPU time of the thread that ran it: in a thread, the hand-off and the wait for
        # the GIL are not the model's; on a busy host, neither is the time the process sat
        # descheduled. Wall time there sent quick models to the threads exactly when the
        # hand-off costs most (32 concurrent calls on a loaded 2-core host: most of them).
        started = time.thread_time()
        result: list[Json] = self.run()
        return result, time.thread_time() - started


class VersionCalls:
    """Calls the loaded versions of every endpoint: alone or batched, inline or in threads.

    A call that fails counts under ``champion_version_failures_total`` with its reason
    (``input``, ``timeout`` or ``error``) and raises a :class:`~champion.errors.ChampionError`
    (:class:`~champion.errors.ModelFailed` for a timeout or a model's own exception).
    ``timeout_seconds`` applies to calls in threads whose route sets no timeout of its own.
    :meth:`close` shuts the threads and batchers down.
    """

    def __init__(
        self,
        metrics: Metrics,
        placement: CallPlacement,
        *,
        timeout_seconds: float,
        threads_per_version: int,
        tracing: Tracing | None,
    ) -> None:
        self.metrics = metrics
        self.placement = placement
        self.timeout_seconds = timeout_seconds
        self.threads_per_version = threads_per_version
        self.tracing = tracing
        self._executors: dict[VersionKey, ThreadPoolExecutor] = {}
        self._batchers: dict[tuple[str, VersionKey], tuple[Batching, float, Batcher]] = {}

    def bind(
        self, loaded: LoadedVersion, unit: str | None, payload: Any, k: int | None
    ) -> BoundCall:
        """The call of ``loaded`` on a request's input, checked against its signature
        (:class:`~champion.errors.InvalidInput` if it does not fit)."""
        if k is None:
            rows = loaded.check_inputs(payload)
            return BoundCall(lambda: loaded.model.predict(rows), len(rows), rows)
        context = loaded.check_inputs([payload])[0] if loaded.check_inputs.fields else payload
        return BoundCall(lambda: loaded.model.rank(unit, context, k), 1)

    async def answer(
        self,
        active: ActiveEndpoint,
        key: VersionKey,
        call: BoundCall,
        timeout: float,
        arm: str,
        role: str,
        may_inline: bool,
    ) -> list[Json]:
        """The call's outputs: alone, or as part of a batch when the endpoint batches."""
        batching = active.config.batching
        if batching is None or call.rows is None:
            loaded = active.loaded[key]
            return await self._call(
                active.config.name, loaded, call, timeout, may_inline=may_inline, arm=arm, role=role
            )
        batcher = self._batcher(active.config.name, active.loaded[key], batching, timeout)
        return await batcher.predict(call.rows)

    async def shadow(
        self,
        active: ActiveEndpoint,
        route: Route,
        key: VersionKey,
        unit: str | None,
        payload: Any,
        k: int | None,
    ) -> list[Json]:
        """A shadow's call of ``key``: checked and timed out as a served call, never inline."""
        loaded = active.loaded[key]
        call = self.bind(loaded, unit, payload, k)
        timeout = route.timeout_seconds or self.timeout_seconds
        return await self._call(
            active.config.name, loaded, call, timeout, arm=route.arm, role="shadow"
        )

    def count_failure(self, endpoint: str, key: VersionKey, reason: str) -> None:
        self.metrics.version_failures.labels(endpoint, key.model, str(key.number), reason).inc()

    def _batcher(
        self, endpoint: str, loaded: LoadedVersion, batching: Batching, timeout: float
    ) -> Batcher:
        key = (endpoint, loaded.version.key)
        found = self._batchers.get(key)
        if found is not None and found[:2] == (batching, timeout):
            return found[2]

        labels = (endpoint, key[1].model, str(key[1].number))
        calls, carried = (
            self.metrics.batched_calls.labels(*labels),
            self.metrics.batched_rows.labels(*labels),
        )

        async def call(rows: list[dict[str, Any]]) -> list[Json]:
            calls.inc()
            carried.inc(len(rows))
            batch = BoundCall(lambda: loaded.model.predict(rows), len(rows))
            return await self._call(endpoint, loaded, batch, timeout, may_inline=True, role="batch")

        batcher = Batcher(batching, call)
        self._batchers[key] = (batching, timeout, batcher)
        if found is not None:
            found[2].close()
        return batcher

    async def _call(
        self,
        endpoint: str,
        loaded: LoadedVersion,
        call: BoundCall,
        timeout: float,
        *,
        may_inline: bool = False,
        arm: str = "",
        role: str = "served",
    ) -> list[Json]:
        """Run ``call`` inline when the placement says so (only calls a response waits for:
        a shadow's would hold up every other request), else in the version's threads.

        Traced, a span ``champion.call`` per call says which version ran, in which arm, and
        its ``role``: ``served`` (the answer waits for it), ``fallback``, ``shadow``, or ``batch``
        (the requests of a batch wait for it)."""
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
        call: BoundCall,
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
            self.count_failure(endpoint, key, "timeout")
            raise ModelFailed(f"Version {key} did not answer within {timeout:g} s.") from None
        except ChampionError:
            self.count_failure(endpoint, key, "error")
            raise
        except Exception as exc:
            self.count_failure(endpoint, key, "error")
            logger.exception("Version %s failed", key)
            raise ModelFailed(f"Version {key} failed: {type(exc).__name__}: {exc}") from None

    def _executor(self, key: VersionKey) -> ThreadPoolExecutor:
        # Each version gets its own threads: a hanging challenger can only block itself.
        executor = self._executors.get(key)
        if executor is None:
            executor = self._executors.setdefault(
                key,
                ThreadPoolExecutor(self.threads_per_version, thread_name_prefix=f"champion-{key}"),
            )
        return executor

    def close(self) -> None:
        """Close every batcher and shut every version's threads down (without waiting)."""
        for _, _, batcher in self._batchers.values():
            batcher.close()
        for executor in self._executors.values():
            executor.shutdown(wait=False, cancel_futures=True)
