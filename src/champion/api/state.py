"""What the HTTP layer holds for one running server."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

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
    controller: RolloutController | None = None


def state_of(request: Request) -> ServerState:
    state: ServerState = request.app.state.champion
    return state


def actor_of(request: Request) -> str:
    """Who asks: the X-Champion-Actor header (tokens will name the caller later)."""
    return request.headers.get("x-champion-actor", "api")[:128] or "api"
