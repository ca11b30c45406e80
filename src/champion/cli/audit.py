"""champion audit: every state change, newest first, with who, when and why."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rich.padding import Padding
from rich.text import Text

from champion.cli.common import console, open_services
from champion.errors import InvalidInput

if TYPE_CHECKING:
    from champion.audit import AuditRecord

# The audit log (SQLAlchemy) is imported by the command, when it runs.

__all__ = ["audit", "details_text", "parse_time", "show_record"]

_CUT = 48

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
    from champion.clock import as_utc

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
    oldest_first: Annotated[
        bool, typer.Option("--oldest-first", help="Oldest of the shown records first.")
    ] = False,
    full: Annotated[
        bool, typer.Option("--full", help="Every detail in full (default: long ones cut).")
    ] = False,
) -> None:
    """Show the audit log: registrations, alias moves, policy changes, tokens, ...

    The newest records (at most LIMIT) are shown, newest first unless --oldest-first.
    """
    from champion import audit as audit_log
    from champion.clock import SystemClock
    from champion.db import read

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
    for r in reversed(records) if oldest_first else records:
        show_record(r, full=full)
    if not records:
        console.print("No audit records match.")


def show_record(record: AuditRecord, *, full: bool = False) -> None:
    """One record as a short paragraph, readable at any terminal width:
    ``#id  when  who  action  target``, then why, then the details."""
    head = Text.assemble(
        (f"#{record.id}", "dim"),
        f"  {record.at:%Y-%m-%d %H:%M:%S} UTC  ",
        (record.actor, "cyan"),
        "  ",
        (record.action, "bold"),
        f"  {record.target}",
    )
    console.print(head, overflow="fold")
    for line, style in ((record.reason, ""), (details_text(record.details, full=full), "dim")):
        if line:
            console.print(Padding(Text(line, style=style), (0, 0, 0, 4), expand=False))


def details_text(details: dict[str, Any], *, full: bool = False) -> str:
    """``key=value`` pairs; unless ``full``, a long value is cut (a pipeline's whole spec).

    >>> details_text({"model": "recs", "params": {"version": "recs@champion"}})
    'model=recs, params={"version":"recs@champion"}'
    >>> details_text({"spec": {"schema": ["x"] * 40}})
    'spec={"schema":["x","x","x","x","x","x","x","x","x",…'
    """
    if full:
        return orjson.dumps(details).decode() if details else ""
    parts = []
    for key, value in details.items():
        if value is None:
            continue
        text = value if isinstance(value, str) else orjson.dumps(value).decode()
        parts.append(f"{key}={text if len(text) <= _CUT else text[: _CUT - 1] + '…'}")
    return ", ".join(parts)
