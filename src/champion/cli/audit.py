"""champion audit: every state change, newest first, with who, when and why."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated

import orjson
import typer
from rich.table import Table

from champion import audit as audit_log
from champion.cli.common import console, open_services
from champion.clock import SystemClock, as_utc
from champion.db import read
from champion.errors import InvalidInput

__all__ = ["audit", "parse_time"]

_RELATIVE = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_time(option: str, text: str, now: datetime) -> datetime:
    """An ISO time (``2026-05-01``, ``2026-05-01T12:00``) or an age: ``30m``, ``2h``, ``7d``.

    Examples
    --------
    >>> from datetime import UTC
    >>> parse_time("--since", "2h", datetime(2026, 1, 1, 12, tzinfo=UTC)).hour
    10
    """
    relative = _RELATIVE.match(text.strip())
    if relative:
        amount, unit = relative.groups()
        return now - timedelta(**{_UNITS[unit]: int(amount)})
    try:
        parsed = as_utc(datetime.fromisoformat(text))
    except ValueError:
        raise InvalidInput(
            f"{option} {text!r}: write an ISO time (2026-05-01T12:00) or an age (30m, 2h, 7d)."
        ) from None
    assert parsed is not None  # as_utc returns None only for None
    return parsed


def audit(
    model: Annotated[str | None, typer.Option(help="A model and its versions.")] = None,
    endpoint: Annotated[str | None, typer.Option(help="An endpoint.")] = None,
    target: Annotated[str | None, typer.Option(help="An exact target (recs/3).")] = None,
    action: Annotated[str | None, typer.Option(help="alias.set, or a family: alias.")] = None,
    actor: Annotated[str | None, typer.Option(help="Who acted.")] = None,
    since: Annotated[str | None, typer.Option(help="From: ISO time or age (2h, 7d).")] = None,
    until: Annotated[str | None, typer.Option(help="Up to: ISO time or age.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Most records shown.")] = 50,
) -> None:
    """Show the audit log: registrations, alias moves, policy changes, tokens, ..."""
    now = SystemClock().now()
    with open_services() as services, read(services.engine) as conn:
        records = audit_log.list_audit(
            conn,
            model=model,
            endpoint=endpoint,
            target=target,
            action=action,
            actor=actor,
            since=parse_time("--since", since, now) if since else None,
            until=parse_time("--until", until, now) if until else None,
            limit=limit,
        )
    table = Table("id", "when (UTC)", "who", "action", "target", "details", "why")
    for r in records:
        table.add_row(
            str(r.id),
            f"{r.at:%Y-%m-%d %H:%M:%S}",
            r.actor,
            r.action,
            r.target,
            orjson.dumps(r.details).decode() if r.details else "",
            r.reason,
        )
    console.print(table)
    if not records:
        console.print("No audit records match.")
