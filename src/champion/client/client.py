"""champion.Client and champion.AsyncClient: the HTTP API from Python, over httpx.

Errors come back as the server raised them: a 404 is ``champion.errors.NotFound`` with the
server's message, a refused token ``Unauthenticated`` or ``Forbidden``, an unreachable server
``Unavailable``.
"""

from __future__ import annotations

import os
from http import HTTPStatus
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from champion.client.calls import AsyncSender, Call, Sender
from champion.client.operations import Operations
from champion.errors import ChampionError, Unavailable, error_class, error_for_status

__all__ = ["DEFAULT_URL", "AsyncClient", "Client"]

T = TypeVar("T")

DEFAULT_URL = "http://127.0.0.1:8000"


def _headers(token: str | None) -> dict[str, str]:
    token = token if token is not None else os.environ.get("CHAMPION_TOKEN")
    # Says "no browser form": an open server (no token) takes changes only with it (or JSON).
    headers = {"X-Champion-Request": "1"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def _url(url: str | None) -> str:
    return (url or os.environ.get("CHAMPION_URL") or DEFAULT_URL).rstrip("/")


def _request(call: Call[Any]) -> dict[str, Any]:
    return {
        "params": call.params or None,
        "json": call.json,
        "files": call.files,
        "data": call.data,
    }


def _answer(response: httpx.Response, call: Call[T]) -> T:
    if response.is_error:
        raise _error(response)
    return call.answer(None if response.status_code == HTTPStatus.NO_CONTENT else response.json())


def _error(response: httpx.Response) -> ChampionError:
    """Rebuild the server's error class from ``{"error": {"code", "message"}}``."""
    try:
        error = response.json()["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        code, message = "", f"HTTP {response.status_code}: {response.text[:200]}"
    cls = error_class(code)
    if cls is ChampionError:  # not one the server raised on purpose (a 404 route): by status
        cls = error_for_status(response.status_code)
    return cls(message)


def _unreachable(url: str, exc: httpx.HTTPError) -> Unavailable:
    return Unavailable(f"Cannot reach the server at {url}: {exc}. Start it with 'champion server'.")


class Client(Operations, Sender):
    """A blocking client. Each call answers the pydantic model the server declares for it
    (``champion.answers``): ``client.predict(...).arm``; ``.model_dump(mode="json")`` gives
    the JSON the server sent.

    Parameters
    ----------
    url
        The server; default ``CHAMPION_URL``, else ``http://127.0.0.1:8000``.
    token
        An API token; default ``CHAMPION_TOKEN`` (none: the server must be open).
    timeout
        Seconds per request.
    transport
        An httpx transport, e.g. ``httpx.MockTransport`` or a WSGI one.

    Examples
    --------
    >>> with Client("http://127.0.0.1:1", timeout=0.5) as client:
    ...     client.list_models()
    Traceback (most recent call last):
    ...
    champion.errors.Unavailable: Cannot reach the server at http://127.0.0.1:1: ...
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        token: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = _url(url)
        self._http = httpx.Client(
            base_url=self.url, headers=_headers(token), timeout=timeout, transport=transport
        )

    def _send(self, call: Call[T]) -> T:
        try:
            response = self._http.request(call.method, call.path, **_request(call))
        except httpx.TransportError as exc:
            raise _unreachable(self.url, exc) from None
        return _answer(response, call)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncClient(Operations, AsyncSender):
    """The same calls as ``Client``, awaited: ``await client.predict("churn", rows)``."""

    def __init__(
        self,
        url: str | None = None,
        *,
        token: str | None = None,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = _url(url)
        self._http = httpx.AsyncClient(
            base_url=self.url, headers=_headers(token), timeout=timeout, transport=transport
        )

    async def _send(self, call: Call[T]) -> T:
        try:
            response = await self._http.request(call.method, call.path, **_request(call))
        except httpx.TransportError as exc:
            raise _unreachable(self.url, exc) from None
        return _answer(response, call)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
