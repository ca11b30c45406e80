"""The one place where errors become HTTP answers.

``/v1`` answers ``{"error": {"code", "message"}}``; the Open Inference Protocol's ``/v2``
answers ``{"error": "message"}`` as that protocol requires, with the same status codes but
one: a request with a wrong value is a 400 there (422 on ``/v1``), as Triton and KServe answer
it, so their clients see the error they expect.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from champion.errors import ChampionError, InvalidInput, MalformedRequest, PayloadTooLarge
from champion.validation import describe_problem

__all__ = ["error_response", "install_error_handlers", "invalid_body"]

logger = logging.getLogger("champion.api")


def error_response(
    error: ChampionError, path: str = "", headers: Mapping[str, str] | None = None
) -> Response:
    return _response(error.status, error.code, error.message, path, headers)


def _response(
    status: int, code: str, message: str, path: str, headers: Mapping[str, str] | None = None
) -> Response:
    body: dict[str, Any]
    # The server metadata route is /v2 itself.
    if path == "/v2" or path.startswith("/v2/"):
        body = {"error": message}
        if status == HTTPStatus.UNPROCESSABLE_ENTITY:
            status = HTTPStatus.BAD_REQUEST
    else:
        body = {"error": {"code": code, "message": message}}
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


def invalid_body(errors: Sequence[Mapping[str, Any]]) -> ChampionError:
    """The error a body that failed validation answers: malformed JSON is a 400, a wrong
    value a 422, each problem (the first five) naming its field."""
    problems = []
    malformed = False
    for item in list(errors)[:5]:
        if item.get("type") == "json_invalid":
            malformed = True
            problems.append(f"body is not valid JSON: {item.get('ctx', {}).get('error', '')}")
            continue
        problems.append(describe_problem(item))
    cls = MalformedRequest if malformed else InvalidInput
    return cls("; ".join(problems))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ChampionError)
    async def _champion(request: Request, exc: ChampionError) -> Response:
        return error_response(exc, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return error_response(invalid_body(exc.errors()), request.url.path)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        path = request.url.path
        if exc.status_code == PayloadTooLarge.status:
            return error_response(PayloadTooLarge(str(exc.detail)), path)
        headers = exc.headers
        if exc.status_code == HTTPStatus.METHOD_NOT_ALLOWED:
            headers = _allow(app, path) or headers
        return _response(exc.status_code, f"HTTP{exc.status_code}", str(exc.detail), path, headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        logger.exception("Unexpected error on %s %s", request.method, request.url.path)
        message = f"Unexpected {type(exc).__name__}; see the server log."
        return _response(500, "InternalError", message, request.url.path)


def _allow(app: FastAPI, path: str) -> dict[str, str] | None:
    """Every method the document lists for ``path``: the route that refused the method
    names only its own, and a resource (``/v1/endpoints/{endpoint}``) has several routes."""
    methods = {
        method.upper()
        for template, operations in app.openapi().get("paths", {}).items()
        if re.fullmatch(re.sub(r"\{[^/}]+\}", "[^/]+", template), path)
        for method in operations
    }
    return {"Allow": ", ".join(sorted(methods))} if methods else None
