"""create_app(settings): the HTTP server around the services."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable
from datetime import UTC, timedelta
from typing import Any

from fastapi import FastAPI

from champion import __version__
from champion.access import Keyring, is_loopback, required_scope
from champion.api import (
    alerts,
    audit,
    dashboard,
    diagnostics,
    docs,
    drift,
    endpoints,
    experiments,
    feedback,
    health,
    inference,
    models,
    pipelines,
    ranking,
    stages,
)
from champion.api.access import AccessGuard
from champion.api.browser import BrowserGuard
from champion.api.errors import install_error_handlers
from champion.api.evaluator import AlertEvaluator
from champion.api.lane import ServeLane
from champion.api.limits import BodySizeLimit
from champion.api.observe import RequestObserver
from champion.api.state import ServerState
from champion.api.summariser import DaySummariser
from champion.api.uploads import sweep_leftovers
from champion.automation import EarlySignal, RolloutController, Scheduler
from champion.clock import Clock
from champion.db.locks import LeaderLock
from champion.diagnostics.readiness import Readiness
from champion.events import (
    EventSpool,
    FeedbackCommitter,
    PredictionWriter,
    RollupFolder,
)
from champion.events.partitions import make_days
from champion.events.retention_status import OldestRowCollector
from champion.metrics import Metrics
from champion.observability import Tracing
from champion.registry import Version
from champion.services import Services
from champion.serving.runtime import Runtime
from champion.serving.service import ServingService
from champion.settings import Settings

__all__ = ["create_app"]

logger = logging.getLogger("champion.api")

_PARTITION_SECONDS = 3600.0
"""How often each server makes sure the next days' event partitions exist (PostgreSQL)."""


def create_app(
    settings: Settings, clock: Clock | None = None, tracing: Tracing | None = None
) -> FastAPI:
    """Build the server; nothing starts until the ASGI lifespan does.

    Traces go to ``tracing`` when given, else to ``settings.otel_endpoint`` when set.
    """
    metrics = Metrics(settings.predict_timeout_seconds)
    if tracing is None:
        tracing = Tracing.from_endpoint(settings.otel_endpoint)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if tracing is not None:
            tracing.start()
        state = _start(settings, clock, metrics, tracing)
        app.state.champion = state
        poller = asyncio.create_task(_poll_state(state, settings.state_poll_seconds))
        app.state.scheduler_wake = wake = asyncio.Event()
        tasks = [poller]
        if settings.scheduler:
            tasks.append(asyncio.create_task(_schedule(state, settings.scheduler_seconds, wake)))
        if state.controller is not None:
            tasks.append(
                asyncio.create_task(
                    _run_controller(state.controller, settings.controller_interval_seconds)
                )
            )
        if state.folder is not None:
            tasks.append(
                asyncio.create_task(_run_folder(state.folder, settings.fold_interval_seconds))
            )
        if state.services.engine.dialect.name == "postgresql":
            tasks.append(asyncio.create_task(_make_partitions(state)))
        stopping = threading.Event()
        if state.retention_lock is not None:
            tasks.append(
                asyncio.create_task(_retain(state, settings.retention_interval_seconds, stopping))
            )
        alert_evaluator = AlertEvaluator(settings, clock, state.metrics, state.services.alerts)
        assert state.alerts_lock is not None  # made by _start
        tasks.append(
            asyncio.create_task(
                _evaluate_alerts(
                    alert_evaluator, state.alerts_lock, settings.alert_interval_seconds
                )
            )
        )
        app.state.champion_summariser = summariser = DaySummariser(
            settings, clock, state.services.drift_days
        )
        if settings.drift_days_interval_seconds > 0:
            tasks.append(
                asyncio.create_task(
                    _summarise_days(summariser, settings.drift_days_interval_seconds)
                )
            )
        try:
            yield
        finally:
            stopping.set()  # a retention pass ends at its next batch
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            alert_evaluator.close()
            summariser.close()
            _stop(state)
            if tracing is not None:
                tracing.close()

    app = FastAPI(
        title="champion",
        version=__version__,
        description="Registry, serving, rollouts, feedback and evaluation for ML models.",
        lifespan=lifespan,
        # Served by champion.api.docs from local files, under a strict policy: no CDN.
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        # champion's RequestObserver traces, counts and logs every request (with its route,
        # ids and versions); FastAPI's own would be a second span and a per-request check.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    install_error_handlers(app)
    # Innermost: predict and rank, inside every guard below, skip the router (api/lane.py).
    app.add_middleware(ServeLane)
    app.add_middleware(
        BodySizeLimit, default=settings.max_request_bytes, uploads=settings.max_upload_bytes
    )
    # Added last, so it runs first: a call without the scope it needs goes no further.
    app.add_middleware(AccessGuard, open_when_empty=is_loopback(settings.host))
    # Outermost: a page of another site gets nothing from an open server, not even a 401.
    app.add_middleware(
        BrowserGuard,
        open_when_empty=is_loopback(settings.host),
        allowed_hosts=settings.allowed_hosts,
    )
    # Outside even that: refused requests are counted, logged and traced too.
    app.add_middleware(
        RequestObserver, metrics=metrics, access_log=settings.access_log, tracing=tracing
    )
    # Routes are matched in order: the request paths (predict, rank, feedback, infer) first.
    for router in (
        endpoints.router,
        feedback.router,
        inference.router,
        health.router,
        models.router,
        experiments.router,
        drift.router,
        ranking.router,
        stages.router,
        alerts.router,
        pipelines.router,
        diagnostics.router,
        audit.router,
        dashboard.router,
        docs.router,
    ):
        app.include_router(router)
    app.openapi = _with_bearer(app)  # type: ignore[method-assign]  # FastAPI's documented hook
    return app


def _with_bearer(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """The OpenAPI document with its bearer scheme: a token is optional (an open server on
    loopback needs none), and the open paths (health) need none either way."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schema.setdefault("components", {})["securitySchemes"] = {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token from 'champion tokens create' (scopes read, "
                    "predict, feedback, admin); none on an open server.",
                }
            }
            schema["security"] = [{"bearer": []}, {}]
            for path, operations in schema.get("paths", {}).items():
                for method, operation in operations.items():
                    if required_scope(method, path) is None:
                        operation["security"] = []
            app.openapi_schema = schema
        return app.openapi_schema

    return openapi


def _start(
    settings: Settings, clock: Clock | None, metrics: Metrics, tracing: Tracing | None
) -> ServerState:
    sweep_leftovers(settings)  # what a crashed process left in home/tmp and the store
    services = Services.open(settings, clock, metrics)
    metrics.info.labels(__version__).set(1)
    metrics.event_queue_capacity.set(settings.event_queue_size)
    metrics.event_spool_capacity_bytes.set(settings.event_spool_max_bytes)
    writer = PredictionWriter(
        services.engine,
        metrics,
        queue_size=settings.event_queue_size,
        batch_size=settings.event_batch_size,
        flush_seconds=settings.event_flush_seconds,
        spool=EventSpool(settings.spool_dir, settings.event_spool_max_bytes),
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
        inline_call_seconds=settings.inline_call_ms / 1000.0,
        tracing=tracing,
    )
    controller = None
    if settings.controller:
        early = EarlySignal(services.engine, services.clock)
        controller = RolloutController(
            services.engine, services.experiments, services.rollout, metrics=metrics,
            early_signal=early,
        )  # fmt: skip
    folder = None
    if settings.fold_interval_seconds > 0:
        lag = timedelta(seconds=settings.fold_lag_seconds)
        segment = timedelta(seconds=settings.rollup_segment_seconds)
        folder = RollupFolder(
            services.engine, services.clock, metrics, lag, segment, settings.fold_max_raw,
            worker=True,
        )  # fmt: skip
    writer.start()
    committer.start()
    serving.refresh(force=True)
    keyring = Keyring(services.tokens)
    keyring.refresh()
    retention = services.retention
    compaction = services.compaction
    metrics.registry.register(OldestRowCollector(services.engine))
    readiness = Readiness(
        services.engine,
        services.registry.store,
        lambda: _served_versions(serving),
        writer,
        metrics,
        services.clock,
        interval=settings.ready_check_seconds,
        retention=retention,
    )
    return ServerState(
        services,
        serving,
        writer,
        committer,
        metrics,
        keyring,
        readiness,
        controller,
        folder,
        retention=retention if retention.enabled else None,
        # Its own lock, so retention runs on one server even where the controller is off.
        retention_lock=LeaderLock(services.engine, "retention")
        if retention.enabled or compaction.enabled
        else None,
        compaction=compaction if compaction.enabled else None,
        # Every worker of every replica runs these loops; only the holder of each lock acts.
        alerts_lock=LeaderLock(services.engine, "alerts"),
        scheduler_lock=LeaderLock(services.engine, "scheduler"),
    )


def _served_versions(serving: ServingService) -> list[Version]:
    return [
        loaded.version for active in serving.status().values() for loaded in active.loaded.values()
    ]


def _stop(state: ServerState) -> None:
    if state.controller is not None:
        state.controller.close()
    if state.folder is not None:
        state.folder.close()
    for lock in (state.retention_lock, state.alerts_lock, state.scheduler_lock):
        if lock is not None:
            lock.release()
    state.writer.close()
    state.feedback.close()
    state.serving.close()
    state.serving.runtime.close()
    state.services.close()


async def _finish_in_thread(
    work: Callable[[], object], stop: Callable[[], None] | None = None
) -> None:
    """Run ``work`` in a thread; cancelled (the server stopping), call ``stop`` if given (to
    end work running in a worker process at once), then wait for it to end, so that nothing
    opens a connection or takes a lock after the server closed its database. (Pipeline runs
    are not waited for: a run can train for minutes, and its lease lets another server
    finish it.)"""
    running = asyncio.ensure_future(asyncio.to_thread(work))
    try:
        await asyncio.shield(running)
    except asyncio.CancelledError:
        if stop is not None:
            stop()
        with contextlib.suppress(Exception):
            await running
        raise


async def _poll_state(state: ServerState, seconds: float) -> None:
    # Changes made by the CLI or another replica show up in the audit log: follow it.
    while True:
        await asyncio.sleep(seconds)
        try:
            await _finish_in_thread(lambda: _follow_changes(state))
        except Exception:
            logger.exception("Refreshing endpoint state failed; keeping the current state")


def _follow_changes(state: ServerState) -> None:
    # One query when nothing changed (the newest audit id): a look costs the requests little.
    # Tokens are audited too, so a created or revoked token shows up the same way.
    if state.serving.refresh():
        state.keyring.refresh()
    state.serving.refresh_rewards()  # bandits learn from feedback, which is not audited


async def _schedule(state: ServerState, seconds: float, wake: asyncio.Event) -> None:
    # Schedules, new data and queued runs; a run trains in a worker thread, off the event loop.
    # The periodic look is the scheduler leader's; a run asked of this process (the wake)
    # starts here at once: runs are claimed atomically, so two processes never run one.
    scheduler = Scheduler(state.services.pipelines)
    lock = state.scheduler_lock
    while True:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await wake.wait()
        woken = wake.is_set()
        wake.clear()
        try:
            if woken or lock is None or await asyncio.to_thread(lock.acquire):
                await asyncio.to_thread(scheduler.tick)
        except Exception:
            logger.exception("The pipeline scheduler failed; it tries again next tick")


async def _run_controller(controller: RolloutController, seconds: float) -> None:
    # Every server runs one; only the holder of the leader lock acts (see automation).
    while True:
        await asyncio.sleep(seconds)
        try:
            await _finish_in_thread(controller.tick)
        except Exception:
            logger.exception("The rollout controller failed; it will look again")


async def _run_folder(folder: RollupFolder, seconds: float) -> None:
    # Every server runs one; only the holder of the rollups' leader lock folds, in its
    # worker process. A pass after downtime can take minutes: stopping the server ends it.
    while True:
        await asyncio.sleep(seconds)
        try:
            await _finish_in_thread(folder.tick, folder.stop)
        except Exception:
            logger.exception("Folding events into the rollups failed; trying again next round")


async def _make_partitions(state: ServerState) -> None:
    # Every server, at start and then hourly: the days ahead exist before their first event
    # (one server at a time; see events.partitions).
    engine, clock = state.services.engine, state.services.clock
    while True:
        try:
            await _finish_in_thread(lambda: make_days(engine, clock.now().astimezone(UTC).date()))
        except Exception:
            logger.exception("Making the next days' event partitions failed; trying again soon")
        await asyncio.sleep(_PARTITION_SECONDS)


async def _evaluate_alerts(alerts: AlertEvaluator, lock: LeaderLock, seconds: float) -> None:
    # Alert rules run on their own schedule, in a worker process: never on a request's path;
    # and in one server process at a time (the holder of the alerts lock).
    while True:
        await asyncio.sleep(seconds)
        try:
            await _finish_in_thread(lambda: _evaluate_if_leader(alerts, lock))
        except Exception:
            logger.exception("Evaluating alert rules failed; trying again next round")


def _evaluate_if_leader(alerts: AlertEvaluator, lock: LeaderLock) -> None:
    if lock.acquire():
        alerts.evaluate()


async def _summarise_days(summariser: DaySummariser, seconds: float) -> None:
    # Finished UTC days become daily drift windows, on the leader, in a worker process. A
    # pass over a large day takes minutes: stopping the server ends it instead of waiting.
    while True:
        await asyncio.sleep(seconds)
        try:
            await _finish_in_thread(summariser.tick, summariser.stop)
        except Exception:
            logger.exception("Summarising drift days failed; trying again next round")


async def _retain(state: ServerState, seconds: float, stopping: threading.Event) -> None:
    # Every server runs one; only the holder of the retention lock deletes.
    while True:
        await asyncio.sleep(seconds)
        try:
            await _finish_in_thread(lambda: _retention_pass(state, stopping))
        except Exception:
            logger.exception("The retention pass failed; it tries again next round")


def _retention_pass(state: ServerState, stopping: threading.Event) -> None:
    retention, compaction, lock = state.retention, state.compaction, state.retention_lock
    if lock is None or not lock.acquire():
        return
    if retention is not None:
        report = retention.run(stop=stopping)
        for table, count in report.deleted.items():
            state.metrics.retention_deleted.labels(table).inc(count)
        state.metrics.retention_pass_seconds.set(report.seconds)
        if report.total:
            logger.info("Retention deleted %s in %.1f s", report.deleted, report.seconds)
    if compaction is not None and not stopping.is_set():
        compacted = compaction.run(stop=stopping)
        for table, count in compacted.rows.items():
            state.metrics.compaction_rows.labels(table).inc(count)
        state.metrics.compaction_segments.inc(compacted.segments)
        state.metrics.compaction_pass_seconds.set(compacted.seconds)
        if compacted.total:
            logger.info(
                "Compaction merged %d segments (%s) in %.1f s",
                compacted.segments,
                compacted.rows,
                compacted.seconds,
            )
