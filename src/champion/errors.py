"""The one exception tree of champion.

Every error a user can cause or meet is one of these; each carries the HTTP status the API
answers with, and the CLI turns any of them into exit code 2 with its message::

    ChampionError
    ├── InvalidInput (ValueError)          422  a field has a wrong value, type or shape
    │   ├── MalformedRequest               400  a body that is not valid JSON or not a form
    │   └── PayloadTooLarge                413  a request body over the configured limit
    ├── Unauthenticated (PermissionError)  401  no token, or a token that is unknown or revoked
    ├── Forbidden (PermissionError)        403  a token lacks the scope; another site's request
    ├── NotFound (LookupError)             404  unknown model, version, alias, endpoint
    ├── Conflict                           409  the request clashes with stored state
    │   └── ArtifactTampered               409  a stored file no longer matches its sha256
    ├── Compacted                          410  unit-level rows of a window were compacted
    │                                           (past CHAMPION_KEEP_UNIT_ROLLUPS)
    ├── UnknownName (LookupError)          422  a name missing from a plugin registry
    ├── ModelFailed                        500  a model raised or timed out on valid input
    ├── MissingExtra (ImportError)         500  an optional dependency is not installed
    ├── Unavailable                        503  a dependency (database, queue, a stored
    │                                           artifact) cannot serve now
    └── InsufficientStorage (OSError)      507  the disk (or quota) ran out while storing
"""

from __future__ import annotations

from http import HTTPStatus
from typing import ClassVar

__all__ = [
    "ArtifactTampered",
    "ChampionError",
    "Compacted",
    "Conflict",
    "Forbidden",
    "InsufficientStorage",
    "InvalidInput",
    "MalformedRequest",
    "MissingExtra",
    "ModelFailed",
    "NotFound",
    "PayloadTooLarge",
    "Unauthenticated",
    "Unavailable",
    "UnknownName",
]


class ChampionError(Exception):
    """Base class of every error champion raises on purpose."""

    status: ClassVar[HTTPStatus] = HTTPStatus.INTERNAL_SERVER_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def code(self) -> str:
        """The class name: the stable, machine-readable kind of error."""
        return type(self).__name__


class InvalidInput(ChampionError, ValueError):
    status = HTTPStatus.UNPROCESSABLE_ENTITY


class MalformedRequest(InvalidInput):
    status = HTTPStatus.BAD_REQUEST


class PayloadTooLarge(InvalidInput):
    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


class Unauthenticated(ChampionError, PermissionError):
    status = HTTPStatus.UNAUTHORIZED


class Forbidden(ChampionError, PermissionError):
    status = HTTPStatus.FORBIDDEN


class NotFound(ChampionError, LookupError):
    status = HTTPStatus.NOT_FOUND


class Conflict(ChampionError):
    status = HTTPStatus.CONFLICT


class ArtifactTampered(Conflict):
    pass


class Compacted(ChampionError):
    """What was asked needs per-unit rows (or label and click rows) of a window whose rows
    were merged into per-arm totals; the per-arm totals of that window are still there."""

    status = HTTPStatus.GONE


class UnknownName(ChampionError, LookupError):
    status = HTTPStatus.UNPROCESSABLE_ENTITY


class ModelFailed(ChampionError):
    status = HTTPStatus.INTERNAL_SERVER_ERROR


class MissingExtra(ChampionError, ImportError):
    status = HTTPStatus.INTERNAL_SERVER_ERROR


class Unavailable(ChampionError):
    status = HTTPStatus.SERVICE_UNAVAILABLE


class InsufficientStorage(ChampionError, OSError):
    status = HTTPStatus.INSUFFICIENT_STORAGE


def error_for_status(status: int) -> type[ChampionError]:
    """The most general error class answered with ``status`` (ChampionError if none)."""
    for cls in _subclasses(ChampionError):
        if cls.status == status:
            return cls
    return ChampionError


def error_class(code: str) -> type[ChampionError]:
    """Return the error class named ``code`` (used to rebuild errors from a JSON body)."""
    classes: dict[str, type[ChampionError]] = {
        cls.__name__: cls for cls in _subclasses(ChampionError)
    }
    return classes.get(code, ChampionError)


def _subclasses(cls: type[ChampionError]) -> list[type[ChampionError]]:
    found = [cls]
    for sub in cls.__subclasses__():
        found.extend(_subclasses(sub))
    return found
