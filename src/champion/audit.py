"""The append-only audit log: who changed what, when, and why.

Conventions that make the log filterable by model and endpoint: a record's ``target`` is the
thing changed (a model ``recs``, a version ``recs/3``, an endpoint, a pipeline, a source, an
alert rule ``alert:<name>``, a token), and its ``details`` name what else it is about:
``details.model`` (the one model it concerns; ``details.models`` when several) and
``details.endpoint`` (the endpoint it concerns, when the target is something else).
:func:`subject` builds those two keys.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from champion.db.metadata import JSON, UTCDateTime, metadata

__all__ = [
    "LATEST_AUDIT_ID",
    "MODEL_ACTIONS",
    "AuditRecord",
    "audit_log",
    "list_audit",
    "record",
    "subject",
]

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target", sa.String(256), nullable=False),
    sa.Column("details", JSON, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Index(None, "target"),
)

LATEST_AUDIT_ID = sa.select(sa.func.coalesce(sa.func.max(audit_log.c.id), 0))
"""The id of the newest record (0: none): every state change bumps it, so replicas poll it."""


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    details: dict[str, Any]
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "details": self.details,
            "reason": self.reason,
        }


def record(
    conn: sa.Connection,
    *,
    at: datetime,
    actor: str,
    action: str,
    target: str,
    details: dict[str, Any] | None = None,
    reason: str = "",
) -> None:
    """Append one record in the caller's transaction: the change and its record commit together."""
    conn.execute(
        audit_log.insert().values(
            at=at, actor=actor, action=action, target=target, details=details or {}, reason=reason
        )
    )


def subject(models: Iterable[str] = (), endpoint: str | None = None) -> dict[str, Any]:
    """The ``details`` keys saying which model(s) and endpoint a record is about.

    >>> subject(["recs", "recs"], endpoint="home")
    {'model': 'recs', 'endpoint': 'home'}
    >>> subject(["recs", "churn"])
    {'models': ['churn', 'recs']}
    """
    found = sorted(set(models))
    about: dict[str, Any] = {}
    if len(found) == 1:
        about["model"] = found[0]
    elif found:
        about["models"] = found
    if endpoint is not None:
        about["endpoint"] = endpoint
    return about


# Actions whose target is a model (``recs``) or one of its versions (``recs/3``); every other
# action on a name targets an endpoint, a token, or what the action names.
MODEL_ACTIONS = ("model.", "version.", "alias.")


def list_audit(
    conn: sa.Connection,
    *,
    target: str | None = None,
    model: str | None = None,
    endpoint: str | None = None,
    action: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before: int | None = None,
    limit: int = 100,
) -> list[AuditRecord]:
    """Records newest first, filtered; page on with ``before`` = the last id of a page.

    ``model`` matches the model's records and its versions', and every record whose
    ``details.model`` names it (endpoints serving it, experiments, alerts, pipeline runs,
    ingestion); ``endpoint`` the records of the endpoint (its configurations, experiments and
    alerts) and those whose ``details.endpoint`` names it; ``action`` an exact
    action (``alias.set``) or, ending in ``.`` or ``*``, a family (``alias.``); the window is
    ``[since, until)``.
    """
    c = audit_log.c
    query = sa.select(audit_log).order_by(c.id.desc()).limit(limit)
    model_action = sa.or_(*(c.action.startswith(prefix) for prefix in MODEL_ACTIONS))
    if target is not None:
        query = query.where(c.target == target)
    if model is not None:
        query = query.where(
            (
                model_action
                & ((c.target == model) | c.target.startswith(f"{model}/", autoescape=True))
            )
            | (c.details["model"].as_string() == model)
        )
    if endpoint is not None:
        query = query.where(
            ((c.target == endpoint) & ~model_action & ~c.action.startswith("token."))
            | (c.details["endpoint"].as_string() == endpoint)
        )
    if action is not None:
        family = action.rstrip("*")
        if family.endswith("."):
            query = query.where(c.action.startswith(family, autoescape=True))
        else:
            query = query.where(c.action == action)
    if actor is not None:
        query = query.where(c.actor == actor)
    if since is not None:
        query = query.where(c.at >= since)
    if until is not None:
        query = query.where(c.at < until)
    if before is not None:
        query = query.where(c.id < before)
    return [AuditRecord(**row._mapping) for row in conn.execute(query)]
