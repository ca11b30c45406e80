"""Every HTTP request gets a request id, HTTP metrics, a span when tracing is on, and an
access log line when that is on."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from champion.metrics import Metrics
from champion.observability import RequestContext, Tracing

if TYPE_CHECKING:
    from opentelemetry.trace import Span

__all__ = ["UNMATCHED", "RequestObserver", "flat_routes"]

access_logger = logging.getLogger("champion.access")

UNMATCHED = "unmatched"
"""The route label of a request no route matches (404s): raw paths would make a metric series
per path anyone cares to ask for."""

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_HEADER = b"x-request-id"


class RequestObserver:
    """Pure ASGI middleware, outermost, so refused requests are seen too.

    The request id: a valid ``X-Request-ID`` from the client (at most 128 characters of
    letters, digits and ``._:/+=@-``) is kept beside the server's own id and returned in the
    response's ``X-Request-ID``; an invalid one is replaced, never echoed. Without one, the
    response carries the server's id, which is also the prediction event's ``request_id``.

    Metrics are labelled by the route template (``/v1/endpoints/{endpoint}/predict``), never
    the raw path, so their series stay bounded.
    """

    def __init__(
        self, app: ASGIApp, *, metrics: Metrics, access_log: bool, tracing: Tracing | None
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log
        self.tracing = tracing
        # prometheus' labels() takes a lock and builds a key on every call: keep the children.
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._routes: list[Route] | None = None  # every route, for requests refused before routing
        # Counted here (one thread: the event loop's) and read by a scrape: a gauge's own
        # inc and dec take its lock twice a request.
        self._in_flight = 0
        metrics.http_in_flight.set_function(lambda: self._in_flight)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        sent = None
        for name, value in scope["headers"]:
            if name == _HEADER:
                sent = value.decode("latin-1")
                break
        context = RequestContext.start(sent)
        header = (_HEADER, context.header.encode("latin-1"))
        status = 500  # unless a response starts: an exception escaped every handler

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # A new message: the app's own may be shared between responses.
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        token = context.enter()
        self._in_flight += 1
        try:
            if self.tracing is None:
                await self.app(scope, receive, send_with_id)
            else:
                with self.tracing.request_span(
                    scope["method"], _headers(scope), _request_attributes(scope, context)
                ) as span:
                    context.trace_id = self.tracing.trace_id()
                    try:
                        await self.app(scope, receive, send_with_id)
                    finally:
                        self._finish_span(span, scope, status)
        finally:
            self._in_flight -= 1
            seconds = time.perf_counter() - started
            method = scope["method"] if scope["method"] in _METHODS else "other"
            route = self.route_of(scope)
            requests, latency = self._children(method, route, status)
            requests.inc()
            latency.observe(seconds)
            if self.access_log:
                _log(context, scope, method, route, status, seconds)
            context.leave(token)

    def _children(self, method: str, route: str, status: int) -> tuple[Any, Any]:
        key = (method, route, status)
        series = self._series.get(key)
        if series is None:
            series = (
                self.metrics.http_requests.labels(method, route, str(status)),
                self.metrics.http_latency.labels(method, route),
            )
            self._series[key] = series
        return series

    def route_of(self, scope: Scope) -> str:
        """The template of the route that served ``scope``; for a request refused before
        routing (401, 403, 413), the template it would have reached; else ``unmatched``."""
        route = scope.get("route")
        if route is None:
            if self._routes is None:
                self._routes = list(flat_routes(getattr(scope.get("app"), "routes", [])))
            route = next((r for r in self._routes if r.matches(scope)[0] is Match.FULL), None)
        path = getattr(route, "path", None)
        return path if isinstance(path, str) else UNMATCHED

    def _finish_span(self, span: Span, scope: Scope, status: int) -> None:
        route = self.route_of(scope)
        span.update_name(f"{scope['method']} {route}")
        span.set_attributes({"http.route": route, "http.response.status_code": status})
        if status >= 500:
            assert self.tracing is not None  # only traced requests have a span
            self.tracing.error(span, f"HTTP {status}")


def flat_routes(routes: list[BaseRoute]) -> Iterator[Route]:
    # FastAPI wraps an included router in a route of its own (``original_router``); Starlette
    # nests routers in ``routes``. The routes inside carry their full template.
    for route in routes:
        if isinstance(route, Route):
            yield route
        inner = getattr(route, "original_router", None) or route
        yield from flat_routes(list(getattr(inner, "routes", None) or ()))


def _headers(scope: Scope) -> dict[str, str]:
    return {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}


def _request_attributes(scope: Scope, context: RequestContext) -> dict[str, str]:
    attributes = {
        "http.request.method": scope["method"],
        "url.path": scope["path"],
        "champion.request_id": context.request_id,
    }
    if context.client_request_id is not None:
        attributes["champion.client_request_id"] = context.client_request_id
    return attributes


def _log(
    context: RequestContext, scope: Scope, method: str, route: str, status: int, seconds: float
) -> None:
    endpoint = context.endpoint or scope.get("path_params", {}).get("endpoint")
    access_logger.info(
        "%s %s %d %.1f ms",
        method,
        route,
        status,
        seconds * 1000.0,
        extra={
            "request_id": context.request_id,
            "client_request_id": context.client_request_id,
            "trace_id": context.trace_id,
            "method": method,
            "route": route,
            "status": status,
            "latency_ms": round(seconds * 1000.0, 3),
            "endpoint": endpoint,
            "version": context.version,
            "versions": list(context.versions) or None,
            "arm": context.arm,
        },
    )
