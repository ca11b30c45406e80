"""Five-field cron expressions (minute hour day-of-month month day-of-week), in UTC.

Each field takes ``*``, a number, a range ``a-b``, a step ``*/n`` or ``a-b/n``, and lists of
those separated by commas; months and weekdays also take English names (``jan``, ``mon``).
Weekdays run from 0 (Sunday) to 6, and 7 is Sunday too. As in Vixie cron, when both the day
of the month and the day of the week are restricted, a day matching either one fires.

Parsed here rather than by a cron library (croniter): five fields in UTC are all a schedule
needs, the parser is this one small module with its messages in champion's form, and a
library would be a new core dependency that reads more (seconds, ``L``, ``W``, ``#``, time
zones) than a pipeline may write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from champion.errors import InvalidInput

__all__ = ["CronSchedule"]

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
# name, lowest, highest, names (index 0 is the lowest value)
_FIELDS: tuple[tuple[str, int, int, list[str]], ...] = (
    ("minute", 0, 59, []),
    ("hour", 0, 23, []),
    ("day of month", 1, 31, []),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)
_HORIZON = timedelta(days=366 * 5)


@dataclass(frozen=True)
class CronSchedule:
    """A parsed cron expression; :meth:`next_after` gives the next time it fires.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> nightly = CronSchedule.parse("30 3 * * *")
    >>> nightly.next_after(datetime(2026, 1, 1, 12, 0, tzinfo=UTC)).isoformat()
    '2026-01-02T03:30:00+00:00'
    >>> weekdays = CronSchedule.parse("0 9 * * mon-fri")
    >>> weekdays.next_after(datetime(2026, 1, 2, 9, 0, tzinfo=UTC)).isoformat()  # a Friday
    '2026-01-05T09:00:00+00:00'
    >>> CronSchedule.parse("61 * * * *")
    Traceback (most recent call last):
    ...
    champion.errors.InvalidInput: Invalid cron expression '61 * * * *': minute 61 is outside 0-59.
    """

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool
    any_weekday: bool

    @classmethod
    def parse(cls, expression: str) -> CronSchedule:
        parts = expression.split()
        if len(parts) != 5:
            raise InvalidInput(
                f"Invalid cron expression {expression!r}: it needs 5 fields (minute hour "
                f"day-of-month month day-of-week), got {len(parts)}."
            )
        values = [
            _field(expression, part, *spec) for part, spec in zip(parts, _FIELDS, strict=True)
        ]
        return cls(
            expression,
            values[0],
            values[1],
            values[2],
            values[3],
            frozenset(d % 7 for d in values[4]),
            parts[2] == "*",
            parts[4] == "*",
        )

    def _day_matches(self, moment: datetime) -> bool:
        day = moment.day in self.days
        weekday = (moment.isoweekday() % 7) in self.weekdays
        if self.any_day and self.any_weekday:
            return True
        if self.any_day:
            return weekday
        if self.any_weekday:
            return day
        return day or weekday

    def next_after(self, moment: datetime) -> datetime:
        """The first time strictly after ``moment`` (timezone-aware) at which it fires."""
        at = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
        limit = moment + _HORIZON
        while at <= limit:
            if at.month not in self.months:
                at = (at.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(day=1)
            elif not self._day_matches(at):
                at = at.replace(hour=0, minute=0) + timedelta(days=1)
            elif at.hour not in self.hours:
                at = at.replace(minute=0) + timedelta(hours=1)
            elif at.minute not in self.minutes:
                at += timedelta(minutes=1)
            else:
                return at
        raise InvalidInput(f"Cron expression {self.expression!r} never fires.")


def _field(
    expression: str, text: str, name: str, low: int, high: int, names: list[str]
) -> frozenset[int]:
    found: set[int] = set()
    for item in text.split(","):
        spec, _, step_text = item.partition("/")
        step = _number(expression, step_text, name, names, low) if step_text else 1
        if step < 1:
            raise InvalidInput(f"Invalid cron expression {expression!r}: {name} step must be >= 1.")
        if spec == "*":
            first, last = low, high
        elif "-" in spec:
            a, _, b = spec.partition("-")
            first, last = (
                _number(expression, a, name, names, low),
                _number(expression, b, name, names, low),
            )
        else:
            first = _number(expression, spec, name, names, low)
            last = high if step_text else first
        for value in (first, last):
            if not low <= value <= high:
                raise InvalidInput(
                    f"Invalid cron expression {expression!r}: {name} {value} is outside "
                    f"{low}-{high}."
                )
        if first > last:
            raise InvalidInput(f"Invalid cron expression {expression!r}: {name} range {spec!r}.")
        found.update(range(first, last + 1, step))
    return frozenset(found)


def _number(expression: str, text: str, name: str, names: list[str], low: int) -> int:
    if text.lower() in names:
        return names.index(text.lower()) + low
    if not text.isdigit():
        raise InvalidInput(
            f"Invalid cron expression {expression!r}: {name} {text!r} is not a number."
        )
    return int(text)
