"""Every call passes here first: its token is checked against the scope its method and path need.

Missing or unknown tokens get 401, a token without the scope 403, before any route runs.
With no token at all on a server bound to loopback, access is open (a laptop's default).
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

from champion.access import Keyring, Token, grants, required_scope
from champion.access import Scope as Needed
from champion.api.errors import error_response
from champion.errors import ChampionError, Forbidden, Unauthenticated

__all__ = ["TOKEN_SCOPE_KEY", "AccessGuard"]

TOKEN_SCOPE_KEY = "champion.token"
"""Where the caller's Token is left in the ASGI scope for the routes (the actor)."""

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="champion"'}


class AccessGuard:
    """Pure ASGI middleware; the keyring comes from the running server's state."""

    def __init__(self, app: ASGIApp, *, open_when_empty: bool) -> None:
        self.app = app
        self.open_when_empty = open_when_empty

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        needed = required_scope(scope["method"], path)
        if needed is not None:
            state = scope["app"].state.champion
            try:
                scope[TOKEN_SCOPE_KEY] = await self._check(state.keyring, scope, needed)
            except ChampionError as exc:
                state.metrics.access_refused.labels(str(int(exc.status))).inc()
                headers = _CHALLENGE if isinstance(exc, Unauthenticated) else None
                await error_response(exc, path, headers)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _check(self, keyring: Keyring, scope: Scope, needed: Needed) -> Token | None:
        secret = _bearer(scope)
        if secret is None:
            if keyring.empty and self.open_when_empty:
                return None
            raise Unauthenticated(
                "This server requires a token: send 'Authorization: Bearer <token>' "
                "(the CLI and champion.Client read CHAMPION_TOKEN). "
                "Create one with 'champion tokens create'."
            )
        if not secret:
            raise Unauthenticated("The Authorization header must read 'Bearer <token>'.")
        token = keyring.find(secret) or await asyncio.to_thread(keyring.authenticate, secret)
        if token is None:
            raise Unauthenticated("The token is unknown or revoked.")
        if not grants(token.scopes, needed):
            raise Forbidden(
                f"Token {token.name!r} has the scopes {', '.join(sorted(token.scopes))}; "
                f"{scope['method']} {scope['path']} needs the {needed!r} scope."
            )
        return token


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            text: str = value.decode("latin-1")
            kind, _, secret = text.partition(" ")
            if kind.lower() == "bearer" and secret.strip():
                return secret.strip()
            return ""  # present but not a bearer token: refused, never ignored
    return None
