"""Value types of the registry: versions, models, aliases and references to versions."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from champion.errors import InvalidInput

__all__ = ["Model", "Version", "VersionKey", "VersionRef", "check_name", "path_reference"]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_NUMBER = re.compile(r"[1-9][0-9]{0,17}")  # a version number, within 64 bits


def check_name(kind: str, value: str) -> str:
    """Model, alias and endpoint names: 1-64 letters, digits, '.', '_' or '-'."""
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise InvalidInput(
            f"Invalid {kind} name {value!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit."
        )
    if kind == "alias" and value.isdigit():
        raise InvalidInput(f"Invalid alias name {value!r}: an alias cannot be a number.")
    return value


def path_reference(model: str, version: str) -> str:
    """What ``/models/{model}/versions/{version}`` names: a number (ASCII digits) or an alias.

    >>> path_reference("recs", "3"), path_reference("recs", "champion")
    ('recs/3', 'recs@champion')
    """
    return f"{model}/{version}" if version.isascii() and version.isdigit() else f"{model}@{version}"


@dataclass(frozen=True, order=True)
class VersionKey:
    """One concrete version: ``recs/3``."""

    model: str
    number: int
    # Kept: a request looks its version up in several dicts, and hashing the pair each time
    # costs more than the lookups themselves.
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.model, self.number)))

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple[type[VersionKey], tuple[str, int]]:
        # Rebuilt, not restored: a string's hash differs from one process to the next.
        return VersionKey, (self.model, self.number)

    def __str__(self) -> str:
        return f"{self.model}/{self.number}"


@dataclass(frozen=True)
class VersionRef:
    """What a user writes where a version is expected: ``recs/3`` or ``recs@champion``."""

    model: str
    number: int | None = None
    alias: str | None = None

    @classmethod
    def parse(cls, text: str) -> VersionRef:
        """Parse ``model/number`` or ``model@alias``.

        Examples
        --------
        >>> VersionRef.parse("recs@champion")
        VersionRef(model='recs', number=None, alias='champion')
        >>> VersionRef.parse("recs/3")
        VersionRef(model='recs', number=3, alias=None)
        """
        if not isinstance(text, str):
            raise InvalidInput(f"A version reference must be a string, got {text!r}.")
        if "@" in text:
            model, _, alias = text.partition("@")
            return cls(check_name("model", model), alias=check_name("alias", alias))
        model, _, number = text.partition("/")
        if _NUMBER.fullmatch(number):
            return cls(check_name("model", model), number=int(number))
        raise InvalidInput(
            f"Invalid version reference {text!r}: write model/number (recs/3) "
            "or model@alias (recs@champion)."
        )

    def __str__(self) -> str:
        return f"{self.model}@{self.alias}" if self.alias else f"{self.model}/{self.number}"


@dataclass(frozen=True)
class Version:
    model: str
    number: int
    kind: str
    flavor: str
    manifest: dict[str, Any]
    files: dict[str, str]
    size_bytes: int
    created_at: datetime
    created_by: str
    aliases: tuple[str, ...] = ()

    @functools.cached_property  # asked on every call of the version
    def key(self) -> VersionKey:
        return VersionKey(self.model, self.number)

    @property
    def lineage(self) -> dict[str, Any]:
        return dict(self.manifest.get("lineage") or {})


@dataclass(frozen=True)
class Model:
    name: str
    created_at: datetime
    created_by: str
    latest: int | None
    version_count: int
    aliases: dict[str, int] = field(default_factory=dict)
