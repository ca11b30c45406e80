"""What the HTTP layer holds for one running server."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from champion.access import Keyring
from champion.api.access import TOKEN_SCOPE_KEY
from champion.automation import RolloutController
from champion.events import FeedbackCommitter, PredictionWriter
from champion.metrics import Metrics
from champion.services import Services
from champion.serving.service import ServingService

__all__ = ["ServerState", "actor_of", "state_of"]


@dataclass
class ServerState:
    services: Services
    serving: ServingService
    writer: PredictionWriter
    feedback: FeedbackCommitter
    metrics: Metrics
    keyring: Keyring
    controller: RolloutController | None = None


def state_of(request: Request) -> ServerState:
    state: ServerState = request.app.state.champion
    return state


def actor_of(request: Request) -> str:
    """Who asks: the token's name; without tokens, the X-Champion-Actor header or 'api'."""
    token = request.scope.get(TOKEN_SCOPE_KEY)
    if token is not None:
        name: str = token.name
        return name
    return request.headers.get("x-champion-actor", "api")[:128] or "api"
