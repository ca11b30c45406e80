"""Time is an input: services read it from a Clock so tests can pass a fixed one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Protocol

from pydantic import AfterValidator, BeforeValidator

__all__ = [
    "Clock",
    "FixedClock",
    "SystemClock",
    "UserTime",
    "as_utc",
    "checked_time",
    "iso_text",
    "utc",
]

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
"""Times users give lie in [EARLIEST, LATEST): windows around them stay within datetime's range."""


class Clock(Protocol):
    def now(self) -> datetime:
        """Return the current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until moved; for tests and replays."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


def utc(at: datetime) -> datetime:
    """``at`` in UTC; one without a zone (a user's, or SQLite's stored times) is taken as UTC.

    Examples
    --------
    >>> utc(datetime(2026, 1, 2, 3, 4))
    datetime.datetime(2026, 1, 2, 3, 4, tzinfo=datetime.timezone.utc)
    """
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def as_utc(at: datetime | None) -> datetime | None:
    """A time from a user, or None: :func:`utc` of it."""
    return None if at is None else utc(at)


def checked_time(at: datetime) -> datetime:
    """A time from a user, in UTC; ValueError outside [1900, 9000).

    >>> checked_time(datetime(9999, 12, 31, 23, 59))
    Traceback (most recent call last):
    ...
    ValueError: must be a time from 1900 to 9000 (UTC)
    """
    try:
        utc = as_utc(at)
    except OverflowError:  # an offset pushing it past year 1 or 9999
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise ValueError("must be a time from 1900 to 9000 (UTC)")
    return utc


def iso_text(value: object) -> object:
    """Refuse what pydantic would read as seconds since 1970: a time is written out.

    >>> iso_text("2026-03-01T10:00:00Z")
    '2026-03-01T10:00:00Z'
    >>> iso_text(0.5)
    Traceback (most recent call last):
    ...
    ValueError: must be an ISO 8601 time such as 2026-03-01T10:00:00Z, got 0.5
    """
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and not _is_number(value):
        return value
    raise ValueError(f"must be an ISO 8601 time such as 2026-03-01T10:00:00Z, got {value!r}")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


UserTime = Annotated[datetime, BeforeValidator(iso_text), AfterValidator(checked_time)]
"""A time in a request: ISO 8601, taken as UTC without a zone, within [1900, 9000)."""
