"""The append-only audit log: who changed what, when, and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from champion.db.metadata import JSON, UTCDateTime, metadata

__all__ = ["AuditRecord", "audit_log", "latest_audit_id", "list_audit", "record"]

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


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    details: dict[str, Any]
    reason: str


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


def list_audit(
    conn: sa.Connection, *, target: str | None = None, limit: int = 100
) -> list[AuditRecord]:
    query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if target is not None:
        query = query.where(audit_log.c.target == target)
    return [AuditRecord(**row._mapping) for row in conn.execute(query)]


def latest_audit_id(conn: sa.Connection) -> int:
    """The id of the newest record: every state change bumps it, so replicas poll it."""
    return int(
        conn.execute(sa.select(sa.func.coalesce(sa.func.max(audit_log.c.id), 0))).scalar_one()
    )
