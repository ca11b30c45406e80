"""How far retention has got: the oldest row kept per table, and why old rows remain.

Both read the partial indexes on ``folded`` (the oldest folded row, the oldest unfolded row),
so they cost two index probes per table, cheap enough for every metrics scrape.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from champion.audit import audit_log
from champion.db import read
from champion.events.retention import _TABLE, _TIME, STARTED, TABLES, Retention, folded
from champion.events.tables import feedback, predictions

__all__ = ["OldestRowCollector", "deleted_before", "oldest_kept", "retention_lag"]

logger = logging.getLogger("champion.events")


def _first(conn: sa.Connection, table: str, is_folded: bool) -> datetime | None:
    at = _TIME[table]
    found: datetime | None = conn.execute(
        sa.select(at).where(folded(_TABLE[table], is_folded)).order_by(at).limit(1)
    ).scalar()
    return found


def oldest_kept(conn: sa.Connection) -> dict[str, datetime | None]:
    """The time of the oldest row of each table with retention (``None``: the table is empty);
    predictions by ``at``, feedback by ``received_at``."""
    found: dict[str, datetime | None] = {}
    for table in TABLES:
        times = [t for t in (_first(conn, table, True), _first(conn, table, False)) if t]
        found[table] = min(times, default=None)
    return found


_PASSES_READ = 40
"""Retention records read back (two per pass): a later pass's cutoff is later, save when a
guard held it."""


def deleted_before(conn: sa.Connection) -> dict[str, datetime | None]:
    """Per table, the latest cutoff before which a retention pass deleted rows, or may be
    deleting them now (``None``: none deleted), from the passes the audit log records: a
    pass records its cutoffs before its first delete (``events.retention.started``) and what
    it deleted at its end (``events.retention``).

    A report over a window that starts before it would read a subset of what happened.
    """
    rows = conn.execute(
        sa.select(audit_log.c.action, audit_log.c.details)
        .where(audit_log.c.action.in_(("events.retention", STARTED)))
        .order_by(audit_log.c.id.desc())
        .limit(_PASSES_READ)
    ).all()
    found: dict[str, datetime | None] = dict.fromkeys(TABLES)
    for action, details in rows:
        cutoffs = details.get("cutoffs") or {}
        if action == STARTED:
            tables = details.get("deleting") or []
        else:
            tables = [t for t, count in (details.get("deleted") or {}).items() if count]
        for table in TABLES:
            if table in tables and cutoffs.get(table):
                at = datetime.fromisoformat(cutoffs[table])
                current = found[table]
                found[table] = at if current is None or at > current else current
    return found


def retention_lag(retention: Retention, conn: sa.Connection, now: datetime) -> dict[str, Any]:
    """``{"status": "ok" | "behind", ...}``: behind when a table keeps rows older than twice
    its horizon, with the reason (not folded, held by a guard, requests still kept, or a
    pass that has not caught up yet)."""
    reasons: list[str] = []
    oldest: dict[str, str | None] = {}
    kept = oldest_kept(conn)
    for table in TABLES:
        keep = retention.keep[table]
        first = kept[table]
        oldest[table] = first.isoformat() if first else None
        if keep is None or first is None or first >= now - 2 * keep:
            continue
        late = now - 2 * keep
        unfolded = _first(conn, table, False)
        if unfolded is not None and unfolded < late:
            reasons.append(
                f"{table}: rows from {unfolded.isoformat()} are not folded into the aggregates "
                "yet, and only folded rows are deleted (is the fold pass running?)"
            )
            continue
        cutoff, holder = retention.cutoff(conn, table, now)
        if holder is not None and (cutoff is None or cutoff < late):
            reasons.append(f"{table}: the guard {holder!r} holds rows back (until {cutoff})")
        elif table == "feedback" and _requests_kept(conn, late):
            reasons.append(
                "feedback: folded feedback older than twice its horizon waits for its "
                "request, which is kept longer (keep_predictions)"
            )
        else:
            reasons.append(
                f"{table}: folded rows from {first.isoformat()} wait for the next retention pass"
            )
    if reasons:
        return {"status": "warning", "error": "retention behind: " + "; ".join(reasons), **oldest}
    return {"status": "ok", **oldest}


def _requests_kept(conn: sa.Connection, before: datetime) -> bool:
    query = (
        sa.select(feedback.c.event_id)
        .where(
            folded(feedback),
            feedback.c.received_at < before,
            sa.select(predictions.c.request_id)
            .where(predictions.c.request_id == feedback.c.request_id)
            .exists(),
        )
        .limit(1)
    )
    return conn.execute(query).first() is not None


class OldestRowCollector(Collector):
    """``champion_event_oldest_row_timestamp_seconds{table}``, read from the database at
    each scrape (nothing when the database cannot answer: the scrape itself still works)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "champion_event_oldest_row_timestamp_seconds",
            "Unix time of the oldest row kept, per event table (predictions by at, feedback "
            "by received_at); absent for an empty table.",
            labels=["table"],
        )
        try:
            with read(self.engine) as conn:
                found = oldest_kept(conn)
        except sa.exc.SQLAlchemyError:
            logger.warning("Reading the oldest event rows for the metrics failed", exc_info=True)
            return
        for table, at in found.items():
            if at is not None:
                family.add_metric([table], at.timestamp())
        yield family
