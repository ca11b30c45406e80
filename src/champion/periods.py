"""Time windows as users write them: ``90s``, ``15m``, ``1h``, ``7d``, ``2w``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from champion.clock import Clock
from champion.errors import InvalidInput

__all__ = ["DEFAULT_WINDOW", "MAX_WINDOW", "parse_window", "resolve_window"]

DEFAULT_WINDOW = "1d"
MAX_WINDOW = timedelta(weeks=5200)
"""About a century: longer spans say nothing a user means and overflow time arithmetic."""
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
_PATTERN = re.compile(r"\s*([0-9]{1,12}(?:\.[0-9]{1,9})?)\s*([smhdw])\s*")


def parse_window(text: str, field: str = "window") -> timedelta:
    """``"15m"`` → 15 minutes.

    >>> parse_window("90s"), parse_window("1.5h")
    (datetime.timedelta(seconds=90), datetime.timedelta(seconds=5400))
    >>> parse_window("soon")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    champion.errors.InvalidInput: The 'window' must be a number and a unit ... Got 'soon' instead.
    """
    match = _PATTERN.fullmatch(text) if isinstance(text, str) else None
    if match is None or float(match.group(1)) <= 0:
        raise InvalidInput(
            f"The {field!r} must be a number and a unit (s, m, h, d, w), such as '15m' or "
            f"'7d'. Got {text!r} instead."
        )
    seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds > MAX_WINDOW.total_seconds():
        raise InvalidInput(
            f"The {field!r} must be at most 5200w (a century). Got {text!r} instead."
        )
    return timedelta(seconds=seconds)


def resolve_window(
    clock: Clock,
    window: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> tuple[datetime, datetime]:
    """``[start, end)``: ``end`` defaults to now, ``start`` to ``end - window`` (default 1d)."""
    end = _aware(end) if end is not None else clock.now()
    if start is not None:
        if window is not None:
            raise InvalidInput("Give either 'start' or 'window', not both.")
        start = _aware(start)
    else:
        start = end - parse_window(window or DEFAULT_WINDOW)
    if start >= end:
        raise InvalidInput(
            f"The window must end after it starts: start {start.isoformat()!r}, "
            f"end {end.isoformat()!r}."
        )
    return start, end


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
