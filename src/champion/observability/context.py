"""What the server knows about the HTTP request being served, for its logs, spans and events.

The HTTP layer opens a ``RequestContext`` per request; the serving path, deeper down and
transport-agnostic, reads it to name its prediction event and writes what it served into it;
every log line written meanwhile carries its ids. A context variable, not a parameter, because
log lines come from every layer (and from tasks the request starts, such as shadow calls,
which copy it), and none of them should need to pass an id along to be traceable.
"""

from __future__ import annotations

import re
from contextvars import ContextVar, Token
from dataclasses import dataclass

from champion.ids import time_ordered_id

__all__ = [
    "MAX_REQUEST_ID",
    "RequestContext",
    "current_request",
    "valid_request_id",
]

MAX_REQUEST_ID = 128
"""Longest X-Request-ID accepted (and stored in ``predictions.client_request_id``)."""

# What request-id generators send (UUIDs, hex, base64, nginx, Envoy, AWS "Root=1-…"): no
# spaces, quotes or control characters, so an id can never forge or break a log line.
_REQUEST_ID = re.compile(rf"[A-Za-z0-9._:/+=@-]{{1,{MAX_REQUEST_ID}}}")

_CURRENT: ContextVar[RequestContext | None] = ContextVar("champion_request", default=None)


def valid_request_id(value: str) -> bool:
    """Whether ``value`` may be used as a client's request id.

    Examples
    --------
    >>> valid_request_id("7f3c2a9e-1b2d-4c5e-8f90-a1b2c3d4e5f6"), valid_request_id("a b")
    (True, False)
    >>> valid_request_id("x" * 129)
    False
    """
    return _REQUEST_ID.fullmatch(value) is not None


@dataclass
class RequestContext:
    """One HTTP request: its ids, and what the serving path did for it.

    ``request_id`` is made by the server for every request (a time-ordered UUID, unique);
    ``client_request_id`` is the X-Request-ID the client sent, when it sent a valid one. The
    first prediction event of the request takes ``request_id`` as its own id, so the response
    body, the log line and the event row show the same id.
    """

    request_id: str
    client_request_id: str | None = None
    trace_id: str | None = None
    endpoint: str | None = None
    version: str | None = None
    versions: tuple[str, ...] = ()
    arm: str | None = None
    _claimed: bool = False

    @classmethod
    def start(cls, client_request_id: str | None) -> RequestContext:
        """A new context with a fresh ``request_id``; an invalid client id is dropped."""
        if client_request_id is not None and not valid_request_id(client_request_id):
            client_request_id = None
        return cls(time_ordered_id(), client_request_id)

    @property
    def header(self) -> str:
        """The X-Request-ID of the response: the client's own id, else the server's."""
        return self.client_request_id or self.request_id

    def event_id(self) -> str:
        """The id of a prediction event made for this request: ``request_id`` the first time,
        a fresh id after that (event ids are primary keys: two events never share one)."""
        if self._claimed:
            return time_ordered_id()
        self._claimed = True
        return self.request_id

    def enter(self) -> Token[RequestContext | None]:
        """Make this the current request; returns the token ``leave`` needs."""
        return _CURRENT.set(self)

    @staticmethod
    def leave(token: Token[RequestContext | None]) -> None:
        _CURRENT.reset(token)


def current_request() -> RequestContext | None:
    """The request being served in this task or thread, if any."""
    return _CURRENT.get()
