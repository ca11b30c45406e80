"""Readiness: whether this server can do its job now, check by check, with the reason.

Three checks, each a ``champion_ready{check=...}`` gauge, and a fourth that warns:

* ``database``: a real write is committed (a row of ``health_probes``), since a database
  that answers ``SELECT 1`` may still refuse every write (read-only, a full disk, a lock
  held, privileges revoked);
* ``artifacts``: the artifact store answers (an object store's bucket can be reached) and
  every blob of every version the endpoints serve is in it;
* ``events``: prediction events reach the database (none waits in the spool, none was
  dropped in the last minute);
* ``retention`` (when a horizon is set): ``warning`` when an event table keeps rows older
  than twice its horizon, with the reason (not folded yet, held by a guard, a pass behind).
  Old rows do not stop a server from serving, so a warning leaves it ready (200) while the
  gauge reads 0 and ``/v1/health`` says ``degraded``.

The database and artifact checks run at most once per ``interval`` seconds, however often a
load balancer asks; callers in between get the last result.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import sqlalchemy as sa

from champion.artifacts import ArtifactStore
from champion.clock import Clock
from champion.db import read
from champion.diagnostics.health import write_probe
from champion.errors import ChampionError
from champion.events.retention import Retention
from champion.events.retention_status import retention_lag
from champion.metrics import Metrics
from champion.registry import Version

__all__ = ["CHECKS", "Readiness", "ReadinessReport"]

CHECKS = ("database", "artifacts", "events", "retention")

_MAX_LISTED = 10
"""Missing blobs named in the report; the count says how many there are in all."""


class EventLog(Protocol):
    """What readiness reads of the prediction writer."""

    @property
    def spooling(self) -> bool: ...

    @property
    def dropping(self) -> bool: ...

    def pending(self) -> int: ...

    dropped: int
    spooled: int


@dataclass(frozen=True)
class ReadinessReport:
    """Each check as ``{"status": "ok" | "warning" | "error", "error": why, ...}``; ``ready``
    when none is an error."""

    checks: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return all(check["status"] != "error" for check in self.checks.values())

    def body(self) -> dict[str, Any]:
        return {"status": "ready" if self.ready else "not_ready", "checks": self.checks}


class Readiness:
    """Runs the checks of the module doc for one server.

    Parameters
    ----------
    served
        The versions the endpoints serve now (called at each check).
    events
        The prediction writer.
    interval
        Seconds between two runs of the database, artifact and retention checks.
    retention
        The server's retention, whose lag the ``retention`` check reports (none: no check).
    """

    def __init__(
        self,
        engine: sa.Engine,
        store: ArtifactStore,
        served: Callable[[], Iterable[Version]],
        events: EventLog,
        metrics: Metrics,
        clock: Clock,
        *,
        interval: float,
        server: str | None = None,
        retention: Retention | None = None,
    ) -> None:
        self.engine = engine
        self.store = store
        self.served = served
        self.events = events
        self.metrics = metrics
        self.clock = clock
        self.interval = interval
        self.server = server or socket.gethostname()
        self.retention = retention if retention is not None and retention.enabled else None
        self._lock = threading.Lock()
        self._checked_at: float | None = None
        self._cached: dict[str, dict[str, Any]] = {}

    def check(self) -> ReadinessReport:
        """The report now (the database and artifact results at most ``interval`` s old)."""
        with self._lock:  # one probe at a time: a burst of callers waits for the same answer
            now = time.monotonic()
            if self._checked_at is None or now - self._checked_at >= self.interval:
                self._cached = {"database": self._database(), "artifacts": self._artifacts()}
                if self.retention is not None:
                    self._cached["retention"] = self._retention(self.retention)
                self._checked_at = time.monotonic()
            checks = {**self._cached, "events": self._events()}
        for name, check in checks.items():
            self.metrics.ready.labels(name).set(1 if check["status"] == "ok" else 0)
        return ReadinessReport(checks)

    def _database(self) -> dict[str, Any]:
        started = time.perf_counter()
        refused = write_probe(self.engine, self.clock.now(), self.server)
        if refused is not None:
            return {"status": "error", "error": refused, "backend": self.engine.dialect.name}
        return {
            "status": "ok",
            "backend": self.engine.dialect.name,
            "write_ms": round((time.perf_counter() - started) * 1000, 3),
        }

    def _retention(self, retention: Retention) -> dict[str, Any]:
        try:
            with read(self.engine) as conn:
                return retention_lag(retention, conn, self.clock.now())
        except sa.exc.SQLAlchemyError as exc:  # the database check says why
            return {"status": "warning", "error": f"retention unknown: {type(exc).__name__}"}

    def _artifacts(self) -> dict[str, Any]:
        missing: list[str] = []
        versions = 0
        try:
            self.store.check()  # an unreachable bucket, even before anything is served
            for version in self.served():
                versions += 1
                for relative, sha256 in sorted(version.files.items()):
                    if not self.store.exists(sha256):
                        missing.append(f"{version.key}: {relative} (sha256 {sha256[:12]}…)")
        except ChampionError as exc:
            return {"status": "error", "error": exc.message}
        except Exception as exc:  # a store that cannot even be asked is not ready either
            return {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
        if missing:
            return {
                "status": "error",
                "error": f"{len(missing)} blob(s) of served versions are missing from the "
                "artifact store: " + "; ".join(missing[:_MAX_LISTED]),
                "versions": versions,
            }
        return {"status": "ok", "versions": versions}

    def _events(self) -> dict[str, Any]:
        events = self.events
        found: dict[str, Any] = {
            "queued": events.pending(),
            "spooled": events.spooled,
            "dropped": events.dropped,
        }
        if events.spooling:
            return {
                "status": "error",
                "error": "Prediction events wait in the local spool: the database refuses "
                "their writes. They are replayed when it accepts them again.",
                **found,
            }
        if events.dropping:
            return {
                "status": "error",
                "error": "Prediction events were dropped in the last minute (the queue or "
                "the spool was full, or an event could not be stored); see the server log.",
                **found,
            }
        return {"status": "ok", **found}
