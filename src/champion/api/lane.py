"""The request paths' own lane: predict and rank answered without the framework's routing.

A prediction through FastAPI's router passes two more middlewares, a match against every
route, a ``Request``, the resolution of the route's parameters and a ``Response``: about as
much CPU as a one-row scikit-learn model takes to answer. These two paths are most of a
server's calls, so they are answered here, inside every guard (access, browser, body size,
request ids and metrics run as for any route) and with the same bodies and errors as the
routes in api/endpoints.py, which stay for the OpenAPI document and share ``serve_body``.
"""

from __future__ import annotations

from typing import Any, Literal

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from champion.api.errors import error_response
from champion.api.observe import flat_routes
from champion.api.parsing import parse_body
from champion.api.render import answer_json
from champion.api.schemas import PredictBody, RankBody
from champion.errors import ChampionError
from champion.serving.service import ServingService

__all__ = ["ServeLane", "serve_body"]

Action = Literal["predict", "rank"]

_PREFIX = "/v1/endpoints/"
_ACTIONS: frozenset[str] = frozenset({"predict", "rank"})
_JSON = (b"content-type", b"application/json")


async def serve_body(serving: ServingService, action: Action, endpoint: str, raw: bytes) -> bytes:
    """The JSON answer of ``POST /v1/endpoints/{endpoint}/{action}`` with body ``raw``."""
    if action == "predict":
        predict = parse_body(raw, PredictBody)
        answer = await serving.predict(endpoint, predict.unit, predict.instances)
    else:
        rank = parse_body(raw, RankBody)
        answer = await serving.rank(endpoint, rank.unit, rank.k, rank.context)
    return orjson.dumps(answer_json(answer))


class ServeLane:
    """Pure ASGI middleware, innermost: ``POST /v1/endpoints/{endpoint}/predict`` and
    ``/rank`` are answered here; every other request goes on to the router."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._routes: dict[str, Any] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("root_path"):
            path: str = scope["path"]
            if path.startswith(_PREFIX):
                endpoint, _, action = path[len(_PREFIX) :].partition("/")
                if endpoint and action in _ACTIONS:
                    await self._serve(scope, receive, send, endpoint, action)  # type: ignore[arg-type]  # checked against _ACTIONS
                    return
        await self.app(scope, receive, send)

    async def _serve(
        self, scope: Scope, receive: Receive, send: Send, endpoint: str, action: Action
    ) -> None:
        # What the router would have left for the request observer (metrics, access log).
        scope["route"] = self._route(scope, action)
        scope["path_params"] = {"endpoint": endpoint}
        raw = await _read(receive)
        if raw is None:
            return  # the client went away: nobody to answer
        try:
            body = await serve_body(scope["app"].state.champion.serving, action, endpoint, raw)
        except ChampionError as exc:
            await error_response(exc, scope["path"])(scope, receive, send)
            return
        headers = [_JSON, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _route(self, scope: Scope, action: str) -> Any:
        if self._routes is None:
            self._routes = {
                route.path.rsplit("/", 1)[1]: route
                for route in flat_routes(list(getattr(scope.get("app"), "routes", [])))
                if route.path in (f"{_PREFIX}{{endpoint}}/predict", f"{_PREFIX}{{endpoint}}/rank")
            }
        return self._routes.get(action)


async def _read(receive: Receive) -> bytes | None:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)
