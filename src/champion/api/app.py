"""create_app(settings): the HTTP server around the services."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from champion import __version__
from champion.api import alerts, drift, endpoints, feedback, health, models
from champion.api.errors import install_error_handlers
from champion.api.evaluator import AlertEvaluator
from champion.api.limits import BodySizeLimit
from champion.api.state import ServerState
from champion.clock import Clock
from champion.events import FeedbackCommitter, PredictionWriter
from champion.metrics import Metrics
from champion.services import Services
from champion.serving.runtime import Runtime
from champion.serving.service import ServingService
from champion.settings import Settings

__all__ = ["create_app"]

logger = logging.getLogger("champion.api")


def create_app(settings: Settings, clock: Clock | None = None) -> FastAPI:
    """Build the server; nothing starts until the ASGI lifespan does."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = _start(settings, clock)
        app.state.champion = state
        poller = asyncio.create_task(_poll_state(state, settings.state_poll_seconds))
        alerts = AlertEvaluator(settings, clock, state.metrics)
        evaluator = asyncio.create_task(_evaluate_alerts(alerts, settings.alert_interval_seconds))
        try:
            yield
        finally:
            for task in (poller, evaluator):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            alerts.close()
            _stop(state)

    app = FastAPI(
        title="champion",
        version=__version__,
        description="Registry, serving, rollouts, feedback and evaluation for ML models.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(
        BodySizeLimit, default=settings.max_request_bytes, uploads=settings.max_upload_bytes
    )
    routers = (health, models, endpoints, feedback, drift, alerts)
    for router in (module.router for module in routers):
        app.include_router(router)
    return app


def _start(settings: Settings, clock: Clock | None) -> ServerState:
    metrics = Metrics()
    services = Services.open(settings, clock, metrics)
    writer = PredictionWriter(
        services.engine,
        metrics,
        queue_size=settings.event_queue_size,
        batch_size=settings.event_batch_size,
        flush_seconds=settings.event_flush_seconds,
    )
    committer = FeedbackCommitter(
        services.engine, services.clock, metrics, settings.feedback_batch_size
    )
    runtime = Runtime(services.registry, services.flavors, settings, settings.runtime_dir)
    serving = ServingService(
        services.engine,
        services.registry,
        services.endpoints,
        runtime,
        writer,
        metrics,
        services.clock,
        timeout_seconds=settings.predict_timeout_seconds,
    )
    writer.start()
    committer.start()
    serving.refresh(force=True)
    return ServerState(services, serving, writer, committer, metrics)


def _stop(state: ServerState) -> None:
    state.writer.close()
    state.feedback.close()
    state.serving.close()
    state.serving.runtime.close()
    state.services.close()


async def _poll_state(state: ServerState, seconds: float) -> None:
    # Changes made by the CLI or another replica show up in the audit log: follow it.
    while True:
        await asyncio.sleep(seconds)
        try:
            await asyncio.to_thread(state.serving.refresh)
            await asyncio.to_thread(state.serving.refresh_rewards)
        except Exception:
            logger.exception("Refreshing endpoint state failed; keeping the current state")


async def _evaluate_alerts(alerts: AlertEvaluator, seconds: float) -> None:
    # Alert rules run on their own schedule, in a worker process: never on a request's path.
    while True:
        await asyncio.sleep(seconds)
        try:
            await asyncio.to_thread(alerts.evaluate)
        except Exception:
            logger.exception("Evaluating alert rules failed; trying again next round")
