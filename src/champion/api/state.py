"""What the HTTP layer holds for one running server."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from champion.access import Keyring
from champion.api.access import TOKEN_SCOPE_KEY
from champion.automation import RolloutController
from champion.db.locks import LeaderLock
from champion.diagnostics.readiness import Readiness
from champion.errors import InvalidInput
from champion.events import (
    Compaction,
    FeedbackCommitter,
    PredictionWriter,
    Retention,
    RollupFolder,
)
from champion.metrics import Metrics
from champion.services import Services
from champion.serving.service import ServingService

__all__ = ["ServerState", "actor_of", "state_of"]


MAX_ACTOR = 128
"""The audit log keeps who acted in 128 characters."""


@dataclass
class ServerState:
    services: Services
    serving: ServingService
    writer: PredictionWriter
    feedback: FeedbackCommitter
    metrics: Metrics
    keyring: Keyring
    readiness: Readiness
    controller: RolloutController | None = None
    folder: RollupFolder | None = None
    retention: Retention | None = None
    retention_lock: LeaderLock | None = None
    compaction: Compaction | None = None
    alerts_lock: LeaderLock | None = None
    scheduler_lock: LeaderLock | None = None

    def leader_locks(self) -> list[LeaderLock]:
        """Every lock a background duty of this process takes (held or not)."""
        found = [self.retention_lock, self.alerts_lock, self.scheduler_lock]
        if self.controller is not None:
            found.append(self.controller.lock)
        if self.folder is not None:
            found.append(self.folder.lock)
        return [lock for lock in found if lock is not None]


def state_of(request: Request) -> ServerState:
    state: ServerState = request.app.state.champion
    return state


def actor_of(request: Request) -> str:
    """Who asks: the token's name; without tokens, the X-Champion-Actor header or 'api'."""
    token = request.scope.get(TOKEN_SCOPE_KEY)
    if token is not None:
        name: str = token.name
        return name
    header = request.headers.get("x-champion-actor")
    if not header:
        return "api"
    try:  # HTTP headers arrive as Latin-1; clients send UTF-8
        actor = header.encode("latin-1").decode("utf-8")
    except UnicodeError:
        raise InvalidInput("The X-Champion-Actor header must be UTF-8 text.") from None
    if len(actor) > MAX_ACTOR:
        raise InvalidInput(
            f"The X-Champion-Actor header must be at most {MAX_ACTOR} characters. Got {len(actor)}."
        )
    return actor
