"""Shadows: a version called on a request's input off the response path, its answer logged.

A shadow call starts once the response is ready and runs as a task of its own, so a slow or
failing shadow never delays or fails the response. Each shadow version has a limit of calls in
flight; beyond it, calls are skipped and counted (``champion_shadows_skipped_total``) rather
than queued behind a version that cannot keep up. Whatever a shadow call does (its outputs, or
the error it met) is written as a shadow event under the request's id.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from champion.clock import Clock
from champion.errors import ChampionError
from champion.events import PredictionWriter, ShadowEvent
from champion.metrics import Metrics
from champion.registry import VersionKey
from champion.serving.active import ActiveEndpoint
from champion.serving.policies import Route
from champion.types import Json

__all__ = ["ShadowCall", "Shadows"]

_IN_FLIGHT = 4  # per shadow version; beyond this, shadow calls are skipped

ShadowCall = Callable[
    [ActiveEndpoint, Route, VersionKey, str | None, Any, int | None], Awaitable[list[Json]]
]
"""Calls one version of an endpoint on a request's input (unit, payload, k) in its route."""


class Shadows:
    """The shadow calls of every endpoint: started, limited per version, logged, closed.

    ``call`` runs one version's call (the service gives its version calls'
    :meth:`~champion.serving.calls.VersionCalls.shadow`), so a shadow's input is checked and
    its call timed out as a served call's are (always in the version's threads, never on the
    event loop, where it would hold up every other request)."""

    def __init__(
        self,
        writer: PredictionWriter,
        metrics: Metrics,
        clock: Clock,
        call: ShadowCall,
    ) -> None:
        self.writer = writer
        self.metrics = metrics
        self.clock = clock
        self.call = call
        self._slots: dict[VersionKey, threading.Semaphore] = {}
        self._tasks: set[asyncio.Future[None]] = set()

    def start(
        self,
        active: ActiveEndpoint,
        route: Route,
        key: VersionKey,
        request_id: str,
        unit: str | None,
        payload: Any,
        k: int | None,
    ) -> None:
        """Start the shadow call of ``key`` on the request, or skip it if too many are in
        flight."""
        slots = self._slots.get(key)
        if slots is None:  # a semaphore per version, made once, not on every shadowed request
            slots = self._slots.setdefault(key, threading.Semaphore(_IN_FLIGHT))
        if not slots.acquire(blocking=False):
            self.metrics.shadows_skipped.labels(
                active.config.name, key.model, str(key.number)
            ).inc()
            return
        task = asyncio.ensure_future(self._run(active, route, key, request_id, unit, payload, k))
        self._tasks.add(task)

        def _done(finished: asyncio.Future[None]) -> None:
            self._tasks.discard(finished)
            slots.release()

        task.add_done_callback(_done)

    async def _run(
        self,
        active: ActiveEndpoint,
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
            result = await self.call(active, route, key, unit, payload, k)
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
        """Cancel the shadow calls still running."""
        for task in list(self._tasks):
            task.cancel()
