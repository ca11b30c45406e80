"""Refuse request bodies over the configured size before they are read into memory, and
NUL characters in a path or query (no database stores them in text)."""

from __future__ import annotations

from urllib.parse import unquote

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from champion.api.errors import error_response
from champion.errors import MalformedRequest, PayloadTooLarge

__all__ = ["BodySizeLimit"]


class BodySizeLimit:
    """Pure ASGI middleware: checks Content-Length, and counts the bytes of a body that
    declares none (chunked)."""

    def __init__(self, app: ASGIApp, *, default: int, uploads: int) -> None:
        self.app = app
        self.default = default
        self.uploads = uploads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or "\x00" in unquote(scope.get("query_string", b"").decode()):
            error = MalformedRequest("The request's path or query contains a NUL character.")
            await error_response(error, scope["path"])(scope, receive, send)
            return
        upload = scope["path"].endswith(("/versions", "/reference"))
        limit = self.uploads if upload else self.default
        declared = chunked = False
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit():
                if int(value) > limit:
                    await error_response(_too_large(limit), scope["path"])(scope, receive, send)
                    return
                declared = True
            elif name == b"transfer-encoding":
                chunked = True
        if declared and not chunked:
            # The server reads exactly Content-Length bytes (no more): nothing left to count.
            await self.app(scope, receive, send)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await error_response(_too_large(limit), scope["path"])(scope, receive, send)


class _TooLarge(HTTPException):
    # An HTTPException, so FastAPI's body parsing passes it through instead of making it a 400.
    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_large(limit).message)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"Request body is larger than the limit of {limit} bytes.")
