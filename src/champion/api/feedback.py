"""Feedback routes: answered only once the events are committed."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request

from champion.answers import FeedbackAnswer
from champion.api.answers import ERRORS, errors
from champion.api.schemas import FeedbackBatchBody, FeedbackBody
from champion.api.state import state_of
from champion.clock import Clock
from champion.events import FeedbackEvent
from champion.ids import time_ordered_id

__all__ = ["router"]

router = APIRouter(
    prefix="/v1/feedback", tags=["feedback"], responses={**ERRORS, **errors(409, 413, 422, 507)}
)


@router.post("", status_code=201)
async def post_feedback(body: FeedbackBody, request: Request) -> FeedbackAnswer:
    return await _commit(request, [body])


@router.post("/batch", status_code=201)
async def post_feedback_batch(body: FeedbackBatchBody, request: Request) -> FeedbackAnswer:
    return await _commit(request, body.events)


async def _commit(request: Request, bodies: list[FeedbackBody]) -> FeedbackAnswer:
    state = state_of(request)
    events = [_event(body, state.services.clock) for body in bodies]
    receipt = await asyncio.wrap_future(state.feedback.submit(events))
    return FeedbackAnswer(
        accepted=len(receipt.accepted),
        duplicates=len(receipt.duplicates),
        event_ids=[e.event_id for e in events],
    )


def _event(body: FeedbackBody, clock: Clock) -> FeedbackEvent:
    at = body.at or clock.now()  # a UserTime: already UTC
    return FeedbackEvent(
        event_id=body.event_id or time_ordered_id(),
        request_id=body.request_id,
        kind=body.kind,
        at=at,
        item=None if body.item is None else str(body.item),
        value=body.value,
        label=body.label,
    )
