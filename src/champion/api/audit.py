"""The audit log over HTTP: every state change, filterable, newest first, paginated."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from champion import audit
from champion.answers import AuditAnswer
from champion.api.answers import ERRORS, QUERY
from champion.api.state import state_of
from champion.clock import UserTime
from champion.db import read
from champion.validation import MAX_ID

__all__ = ["router"]

router = APIRouter(prefix="/v1/audit", tags=["audit"], responses=ERRORS)


@router.get("", response_model=AuditAnswer, responses=QUERY)
def list_audit(
    request: Request,
    model: Annotated[
        str | None, Query(max_length=64, description="A model and its versions.")
    ] = None,
    endpoint: Annotated[str | None, Query(max_length=64)] = None,
    target: Annotated[str | None, Query(max_length=256, description="An exact target.")] = None,
    action: Annotated[
        str | None, Query(max_length=64, description="alias.set, or a family: alias.")
    ] = None,
    actor: Annotated[str | None, Query(max_length=128)] = None,
    since: Annotated[UserTime | None, Query(description="From this time (inclusive).")] = None,
    until: Annotated[UserTime | None, Query(description="Up to this time (exclusive).")] = None,
    before: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="The 'next' of the last page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Who changed what, when and why. ``next`` pages on to older records (null at the end)."""
    with read(state_of(request).services.engine) as conn:
        records = audit.list_audit(
            conn,
            model=model,
            endpoint=endpoint,
            target=target,
            action=action,
            actor=actor,
            since=since,
            until=until,
            before=before,
            limit=limit + 1,
        )
    page = records[:limit]
    more = len(records) > limit
    return {"records": [r.to_json() for r in page], "next": page[-1].id if more else None}
