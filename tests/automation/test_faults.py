"""Faults: each ends in a clear recorded state, the served model unchanged, no data lost."""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
import sqlalchemy as sa

from champion import audit
from champion.automation import Scheduler
from champion.automation.tables import ingested_files
from champion.clock import FixedClock
from champion.db import read
from champion.errors import Unavailable
from champion.events.tables import feedback, predictions
from champion.services import Services
from champion.serving.endpoints import EndpointConfig
from champion.settings import Settings
from tests.automation import trainers
from tests.automation.loop import Loop, loop, newcomers
from tests.automation.trainers import customers, spec, write_batch
from tests.conftest import LiveServer, ModelFolders
from tests.fixtures.environment import cannot
from tests.fixtures.faults import (
    EVENT_TABLES,
    disk_full,
    postgres_tables_on,
    small_filesystem,
    until,
    writes_refused,
)

__all__ = ["loop"]


def _served_first(services: Services, incoming: Path) -> None:
    write_batch(incoming, "initial.csv", customers(200, seed=1))
    services.pipelines.apply(spec(incoming), actor="alice")
    assert services.pipelines.run("churn-retrain", reason="", actor="alice").version == 1


def _second_week(services: Services, incoming: Path, **changes: object) -> list[EndpointConfig]:
    """Version 1 served, the pipeline changed by ``changes``, a new file: the endpoint's
    history before the next run."""
    _served_first(services, incoming)
    before = services.endpoints.history("churn")
    if changes:
        services.pipelines.apply(spec(incoming, **changes), actor="alice")
    write_batch(incoming, "week-2.csv", customers(200, seed=2))
    return before


def _file_count(services: Services) -> int:
    with read(services.engine) as conn:
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(ingested_files)).scalar_one()
        )


def test_training_that_raises_fails_the_run_and_keeps_the_data(
    services: Services, tmp_path: Path
) -> None:
    incoming = tmp_path / "incoming"
    before = _second_week(
        services, incoming, train={"entry": "tests.automation.trainers:train_raises"}
    )

    failed = services.pipelines.run("churn-retrain", reason="", actor="alice")

    assert failed.status == "failed"
    assert failed.error is not None
    assert failed.error.startswith("train: RuntimeError: the training cluster is on fire")
    train = failed.step("train")
    assert train is not None and train.status == "failed" and train.seconds is not None
    assert services.endpoints.history("churn") == before
    assert services.registry.get_model("churn").version_count == 1
    assert _file_count(services) == 2
    services.pipelines.apply(spec(incoming), actor="alice", reason="fixed the trainer")
    fixed = services.pipelines.run("churn-retrain", reason="", actor="alice")
    assert fixed.status == "succeeded" and fixed.version == 2
    ingest = fixed.step("ingest")
    assert ingest is not None and ingest.outputs["new_files"] == []  # week-2 was kept, once
    assert _file_count(services) == 2


@contextmanager
def _unwritable(folder: Path) -> Iterator[None]:
    folders = [folder, *(p for p in folder.rglob("*") if p.is_dir())]
    root = os.geteuid() == 0
    if root and shutil.which("chattr") is None:
        cannot("running as root without chattr: cannot make a folder unwritable")
    for path in folders:
        if root:
            subprocess.run(["chattr", "+i", str(path)], check=False, capture_output=True)
        else:
            path.chmod(0o555)
    try:
        probe = folder / ".probe"
        try:
            probe.touch()
        except OSError:
            pass
        else:
            probe.unlink()
            cannot("this file system ignores the read-only flag")
        yield
    finally:
        for path in folders:
            if root:
                subprocess.run(["chattr", "-i", str(path)], check=False, capture_output=True)
            else:
                path.chmod(0o755)


def test_an_unwritable_artifact_store_fails_registration_and_the_run_resumes(
    services: Services, tmp_path: Path
) -> None:
    incoming = tmp_path / "incoming"
    before = _second_week(services, incoming)

    with _unwritable(services.settings.artifacts_dir):
        failed = services.pipelines.run("churn-retrain", reason="", actor="alice")

    assert failed.status == "failed"
    assert failed.error is not None and failed.error.startswith("register: PermissionError")
    assert services.endpoints.history("churn") == before
    assert services.registry.get_model("churn").version_count == 1
    trained = failed.step("train")
    assert trained is not None and trained.status == "succeeded"
    resumed = services.pipelines.resume("churn-retrain", failed.id)
    assert resumed.status == "succeeded" and resumed.version == 2
    again = resumed.step("train")
    assert again is not None and again.finished_at == trained.finished_at  # not trained twice
    assert services.endpoints.get("churn").params["challenger"] == "churn/2"


class _Outage:
    """Takes the database away as an unreachable server would, and brings it back."""

    def __init__(self, services: Services, settings: Settings) -> None:
        self.services = services
        self.url = services.engine.url
        self.admin: sa.Engine | None = None
        if self.url.get_backend_name() == "postgresql":
            self.admin = sa.create_engine(
                self.url.set(database="postgres"), isolation_level="AUTOCOMMIT"
            )
        self.database = Path(str(self.url.database))

    def begin(self) -> None:
        if self.admin is None:
            self.services.engine.dispose()
            for suffix in ("", "-wal", "-shm"):
                path = Path(f"{self.database}{suffix}")
                if path.exists():
                    path.rename(f"{path}.away")
            self.database.mkdir()  # nothing can open a database where a folder is
            return
        with self.admin.connect() as conn:
            name = self.url.database
            conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )

    def end(self) -> None:
        if self.admin is None:
            self.database.rmdir()
            for suffix in ("", "-wal", "-shm"):
                away = Path(f"{self.database}{suffix}.away")
                if away.exists():
                    away.rename(f"{self.database}{suffix}")
            return
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{self.url.database}" ALLOW_CONNECTIONS true'))
        self.admin.dispose()


def test_the_database_going_away_mid_run_leaves_a_run_that_resumes(
    settings: Settings, tmp_path: Path
) -> None:
    clock = FixedClock(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
    services = Services.open(settings, clock)
    try:
        incoming = tmp_path / "incoming"
        before = _second_week(
            services, incoming, train={"entry": "tests.automation.trainers:train_then_hook"}
        )
        outage = _Outage(services, settings)
        trainers.AFTER_TRAINING.append(outage.begin)

        with pytest.raises(Unavailable, match="database went away during run"):
            services.pipelines.run("churn-retrain", reason="", actor="alice")
        outage.end()

        run = services.pipelines.list_runs("churn-retrain")[0]
        assert run.status == "running" and run.lease_until is not None
        assert services.endpoints.history("churn") == before
        assert services.registry.get_model("churn").version_count == 1
        assert Scheduler(services.pipelines).tick() == []  # its lease has not run out yet
        clock.at += timedelta(seconds=settings.pipeline_lease_seconds + 1)

        assert Scheduler(services.pipelines).tick() == [run.id]

        resumed = services.pipelines.get_run("churn-retrain", run.id)
        assert resumed.status == "succeeded" and resumed.version == 2
        assert services.registry.get_model("churn").version_count == 2
        assert _file_count(services) == 2
    finally:
        trainers.AFTER_TRAINING.clear()
        services.close()


def test_a_copy_and_a_file_of_another_schema_change_nothing(
    services: Services, tmp_path: Path
) -> None:
    incoming = tmp_path / "incoming"
    _served_first(services, incoming)
    before = services.endpoints.history("churn")
    shutil.copy(incoming / "initial.csv", incoming / "initial-copy.csv")
    write_batch(incoming, "odd.csv", customers(50, seed=3).drop(columns=["plan"]))

    run = services.pipelines.run("churn-retrain", reason="", actor="alice")

    assert run.status == "skipped"
    ingest = run.step("ingest")
    assert ingest is not None
    assert [(Path(f["path"]).name, f["status"]) for f in ingest.outputs["new_files"]] == [
        ("odd.csv", "quarantined")
    ]
    assert "missing ['plan']" in ingest.outputs["new_files"][0]["reason"]
    assert services.endpoints.history("churn") == before
    assert _file_count(services) == 2


def test_a_deployment_that_fails_keeps_its_version_and_resumes_with_the_fix(
    services: Services, tmp_path: Path
) -> None:
    incoming = tmp_path / "incoming"
    # interleave serves rankers only: the endpoint refuses it after the version is registered
    before = _second_week(services, incoming, deploy={"endpoint": "churn", "policy": "interleave"})

    failed = services.pipelines.run("churn-retrain", reason="", actor="alice")

    assert failed.status == "failed" and failed.version == 2
    assert failed.error is not None and "serves ranker models only" in failed.error
    assert services.endpoints.history("churn") == before
    again = services.pipelines.run("churn-retrain", reason="", actor="alice")
    assert again.status == "skipped" and "(registered, version churn/2)" in again.summary["outcome"]
    services.pipelines.apply(spec(incoming), actor="alice", reason="canary after all")
    resumed = services.pipelines.resume("churn-retrain", failed.id)
    assert resumed.status == "succeeded" and resumed.version == 2
    assert services.registry.get_model("churn").version_count == 2
    assert services.endpoints.get("churn").params["challenger"] == "churn/2"


def test_a_triggered_run_the_gate_refuses_leaves_the_endpoint_and_says_why(loop: Loop) -> None:
    loop.rule("churn-drift", "drift_share", 0.3, window="1h")
    trigger = {"rules": ["churn-drift"]}
    loop.first_version(on_alert=trigger)
    strict = spec(loop.incoming, on_alert=trigger, gates=[{"metric": "auc", "at_least": 0.999}])
    loop.services.pipelines.apply(strict, actor="alice", reason="demand perfection")
    before = loop.services.endpoints.history("churn")
    write_batch(loop.incoming, "week-2.csv", newcomers(100, seed=2).assign(churned=1))
    loop.serve(newcomers(100, seed=3))
    loop.later(minutes=5)
    [alert] = loop.services.alerts.evaluate()

    [run_id] = loop.scheduler.tick()

    refused = loop.services.pipelines.get_run("churn-retrain", run_id)
    assert (refused.status, refused.trigger) == ("rejected", "drift")
    assert refused.reason.startswith(f"alert {alert.id} of rule churn-drift")
    assert "the gates refused the candidate: auc = 0." in refused.summary["outcome"]
    assert loop.services.endpoints.history("churn") == before
    assert loop.services.registry.get_model("churn").version_count == 1
    with read(loop.services.engine) as conn:
        [ended] = audit.list_audit(conn, action="pipeline.run.rejected", limit=1)
    assert ended.details["run"] == run_id and ended.reason == refused.summary["outcome"]
    assert loop.scheduler.tick() == []  # the alert was answered: it starts nothing more


class _Load:
    """Clients that predict, and clients that send a click on every answer, through a fault
    and after it. A call that fails or times out counts as neither answered nor acknowledged.
    """

    ROW: ClassVar[dict[str, object]] = {"tenure": 3, "charges": 12.5, "contract": "Month-to-month"}

    def __init__(self, url: str, workers: int = 2) -> None:
        self.url = url
        self.answered: list[str] = []
        self.sent: dict[str, str] = {}  # event id -> request id
        self.acknowledged: set[str] = set()
        self.refused = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._clicks: queue.Queue[str] = queue.Queue()
        self._threads = [
            *(threading.Thread(target=self._predict, args=(w,)) for w in range(workers)),
            *(threading.Thread(target=self._click) for _ in range(workers)),
        ]

    def __enter__(self) -> _Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _predict(self, worker: int) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            n = 0
            while not self._stop.is_set():
                n += 1
                body = {"unit": f"user-{worker}-{n}", "instances": [self.ROW]}
                try:
                    answer = client.post("/v1/endpoints/churn/predict", json=body)
                except httpx.HTTPError:
                    continue
                if answer.status_code == 200:
                    with self._lock:
                        self.answered.append(answer.json()["request_id"])
                    self._clicks.put(answer.json()["request_id"])

    def _click(self) -> None:
        # A short timeout: a client that waits for a locked database gives up and retries.
        with httpx.Client(base_url=self.url, timeout=3) as client:
            while not self._stop.is_set():
                try:
                    request_id = self._clicks.get(timeout=0.1)
                except queue.Empty:
                    continue
                event = {"event_id": f"e-{request_id}", "request_id": request_id, "kind": "click"}
                with self._lock:
                    self.sent[event["event_id"]] = request_id
                try:
                    ack = client.post("/v1/feedback", json=event)
                except httpx.HTTPError:
                    with self._lock:
                        self.refused += 1
                    continue
                with self._lock:
                    if ack.status_code == 201:
                        self.acknowledged.add(event["event_id"])
                    else:
                        self.refused += 1

    def resend_everything(self) -> None:
        """Clients retry all they sent, acknowledged or not: nothing may be stored twice."""
        events = [
            {"event_id": event_id, "request_id": request_id, "kind": "click"}
            for event_id, request_id in self.sent.items()
        ]
        with httpx.Client(base_url=self.url, timeout=60) as client:
            for start in range(0, len(events), 500):
                chunk = events[start : start + 500]
                response = client.post("/v1/feedback/batch", json={"events": chunk})
                assert response.status_code == 201, response.text


def _load_through(
    fault: AbstractContextManager[object], settings: Settings, model_folder: ModelFolders
) -> tuple[_Load, dict[str, Any], Services]:
    """Serve 'churn', run the load through ``fault`` and past it; return what the clients saw,
    what readiness said during the fault, and the services to read the database with."""
    settings = settings.model_copy(update={"ready_check_seconds": 0.05, "controller": False})
    services = Services.open(settings)
    services.registry.register(
        model_folder("constant"), model="churn", actor="t", aliases_to_set=("champion",)
    )
    services.endpoints.set("churn", "single", {"version": "churn@champion"}, actor="t")
    with LiveServer(settings) as server, httpx.Client(base_url=server.url, timeout=60) as probe:
        with _Load(server.url) as load:
            until("answers before the fault", lambda: len(load.answered) >= 20)
            with fault:
                before = len(load.answered)
                until("answers during the fault", lambda: len(load.answered) >= before + 40)
                until(
                    "readiness to see the fault",
                    lambda: probe.get("/v1/health/ready").status_code == 503,
                )
                until(
                    "refused events to be spooled",
                    lambda: probe.get("/v1/health").json()["events"]["spooled"] > 0,
                )
                during = probe.get("/v1/health").json()
                assert during["checks"]["events"]["status"] == "error", during
            after = len(load.answered)
            until("answers after the fault", lambda: len(load.answered) >= after + 20)
        load.resend_everything()
        until("the spool to be replayed", lambda: probe.get("/v1/health/ready").is_success)
        final = probe.get("/v1/health").json()
    assert final["status"] == "ok" and final["events"]["dropped"] == 0, final
    return load, during, services


def _assert_nothing_lost_or_doubled(load: _Load, services: Services) -> None:
    with read(services.engine) as conn:
        stored = list(conn.execute(sa.select(predictions.c.request_id)).scalars())
        feedback_ids = list(conn.execute(sa.select(feedback.c.event_id)).scalars())
    missing = set(load.answered) - set(stored)
    assert not missing, f"{len(missing)} answered predictions have no event"
    assert len(stored) == len(set(stored)) >= len(load.answered)
    assert load.acknowledged <= set(feedback_ids)  # 0 acknowledged feedback lost
    assert sorted(feedback_ids) == sorted(load.sent)  # every retry stored once


def test_a_database_refusing_writes_under_load_loses_and_doubles_nothing(
    settings: Settings, model_folder: ModelFolders
) -> None:
    load, during, services = _load_through(writes_refused(settings), settings, model_folder)
    try:
        assert during["status"] == "degraded"
        assert during["checks"]["database"]["status"] == "error"
        if settings.database_url is not None:  # read-only: every feedback commit is refused
            assert load.refused > 0
        _assert_nothing_lost_or_doubled(load, services)
    finally:
        services.close()


@contextmanager
def _full(folder: Path) -> Iterator[None]:
    with disk_full(folder):
        yield


def test_a_full_disk_under_the_database_loses_and_doubles_nothing(
    settings: Settings, model_folder: ModelFolders
) -> None:
    with small_filesystem(16 * 1024) as small:
        if settings.database_url is None:
            # The database on the small disk; the home (and the spool) on the big one.
            settings = settings.model_copy(
                update={"database_url": f"sqlite:///{small / 'champion.db'}"}
            )
            Services.open(settings).close()  # migrated before the disk fills
            moved: AbstractContextManager[object] = nullcontext()
        else:
            Services.open(settings).close()
            moved = postgres_tables_on(small, settings, (*EVENT_TABLES, "feedback"))
        with moved:
            load, during, services = _load_through(_full(small), settings, model_folder)
            try:
                assert during["status"] == "degraded"
                _assert_nothing_lost_or_doubled(load, services)
            finally:
                services.close()
