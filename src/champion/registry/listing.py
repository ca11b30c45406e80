"""A model's versions a page at a time, newest first, with filters; for registries of 10^5.

A page is ``limit`` versions below a cursor (the last number of the page before), read
through the ``(model, number)`` unique index. Numbers only grow, so a version registered
while a client pages lands above the first page: pages never repeat or skip a version.
Tag and metric filters read the manifest's JSON in SQL (``json_extract`` on SQLite, ``#>>``
on PostgreSQL), on the rows the index walk visits.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from champion.errors import InvalidInput
from champion.registry.entities import Version
from champion.registry.tables import versions

__all__ = [
    "MAX_PAGE",
    "MetricFilter",
    "VersionFilter",
    "VersionPage",
    "decode_cursor",
    "encode_cursor",
    "select_page",
]

MAX_PAGE = 1000
"""The most versions one page holds."""

_KEY = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_METRIC = re.compile(r"\s*([A-Za-z0-9_.-]{1,64})\s*(>=|<=|==|=|>|<)\s*(\S+)\s*")
_COMPARE = {
    ">": lambda c, v: c > v,
    ">=": lambda c, v: c >= v,
    "<": lambda c, v: c < v,
    "<=": lambda c, v: c <= v,
    "=": lambda c, v: c == v,
    "==": lambda c, v: c == v,
}


@dataclass(frozen=True)
class MetricFilter:
    """``auc>0.8``: a lineage metric compared with a number."""

    name: str
    operator: str
    value: float

    @classmethod
    def parse(cls, text: str) -> MetricFilter:
        """Parse ``name<op>number`` with op one of >, >=, <, <=, =.

        >>> MetricFilter.parse("auc>=0.8")
        MetricFilter(name='auc', operator='>=', value=0.8)
        """
        found = _METRIC.fullmatch(text)
        number = _number(found.group(3)) if found else None
        if found is None or number is None:
            raise InvalidInput(
                f"metric: {text!r} is no metric threshold; write name, an operator "
                "(>, >=, <, <=, =) and a finite number, e.g. 'auc>0.8'."
            )
        return cls(found.group(1), found.group(2), number)


@dataclass(frozen=True)
class VersionFilter:
    """What a listing keeps; every condition must hold."""

    tags: dict[str, str | None] = field(default_factory=dict)
    """Lineage tags: ``{"team": "search"}`` for a value, ``{"team": None}`` for any value."""
    alias: str | None = None
    creator: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    metrics: tuple[MetricFilter, ...] = ()

    @classmethod
    def parse_tags(cls, items: list[str]) -> dict[str, str | None]:
        """``["team:search", "reviewed"]`` -> ``{"team": "search", "reviewed": None}``."""
        tags: dict[str, str | None] = {}
        for item in items:
            key, sep, value = item.partition(":")
            if not _KEY.fullmatch(key) or (sep and not value):
                raise InvalidInput(
                    f"tag: {item!r} is no tag filter; write key:value, or key alone for any "
                    "value (a key is 1-64 letters, digits, '.', '_' or '-')."
                )
            tags[key] = value if sep else None
        return tags

    def where(self) -> list[sa.ColumnElement[bool]]:
        """The SQL conditions (the alias is resolved to a number by the caller)."""
        lineage = versions.c.manifest
        conditions: list[sa.ColumnElement[bool]] = []
        for key, value in self.tags.items():
            tag = lineage[("lineage", "tags", key)].as_string()
            conditions.append(tag.is_not(None) if value is None else tag == value)
        for metric in self.metrics:
            number = lineage[("lineage", "metrics", metric.name)].as_float()
            conditions.append(_COMPARE[metric.operator](number, metric.value))
        if self.creator is not None:
            conditions.append(versions.c.created_by == self.creator)
        if self.created_after is not None:
            conditions.append(versions.c.created_at > self.created_after)
        if self.created_before is not None:
            conditions.append(versions.c.created_at < self.created_before)
        return conditions


@dataclass(frozen=True)
class VersionPage:
    """One page of a listing, newest first; ``next_cursor`` is None on the last page."""

    versions: list[Version]
    next_cursor: str | None


def select_page(
    model: str, flt: VersionFilter, alias_number: int | None, before: int | None, limit: int
) -> sa.Select[Any]:
    """The rows of one page, and one more to tell whether another page follows."""
    query = sa.select(versions).where(
        (versions.c.model == model) & versions.c.deleted_at.is_(None), *flt.where()
    )
    if alias_number is not None:
        query = query.where(versions.c.number == alias_number)
    if before is not None:
        query = query.where(versions.c.number < before)
    return query.order_by(versions.c.number.desc()).limit(limit + 1)


def encode_cursor(number: int) -> str:
    """An opaque cursor: the page after it starts below version ``number``."""
    return base64.urlsafe_b64encode(f"v1:{number}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The version number a cursor stands for; a cursor this server did not give is refused.

    >>> decode_cursor(encode_cursor(1234))
    1234
    """
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
        tag, _, number = text.partition(":")
        if tag == "v1" and number.isdigit() and len(number) <= 18:
            return int(number)
    except (binascii.Error, UnicodeError, ValueError):
        pass
    raise InvalidInput(
        f"cursor: {cursor[:80]!r} is not a cursor this server gave; pass the 'next_cursor' "
        "of the previous page, or none for the first page."
    )


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None
