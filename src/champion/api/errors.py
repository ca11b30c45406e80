"""The one place where errors become HTTP answers: ``{"error": {"code", "message"}}``."""

from __future__ import annotations

import logging

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from champion.errors import ChampionError, InvalidInput, MalformedRequest, PayloadTooLarge
from champion.validation import location, short_repr

__all__ = ["error_response", "install_error_handlers"]

logger = logging.getLogger("champion.api")


def error_response(error: ChampionError) -> Response:
    body = {"error": {"code": error.code, "message": error.message}}
    return Response(orjson.dumps(body), status_code=error.status, media_type="application/json")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ChampionError)
    async def _champion(request: Request, exc: ChampionError) -> Response:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        malformed = False
        for item in list(exc.errors())[:5]:
            if item.get("type") == "json_invalid":
                malformed = True
                problems.append(f"body is not valid JSON: {item.get('ctx', {}).get('error', '')}")
                continue
            where = location([p for p in item.get("loc", ()) if p != "body"])
            text = f"{where}: {item.get('msg')}"
            if item.get("type") != "missing" and "input" in item:
                text += f", got {short_repr(item['input'])}"
            problems.append(text)
        cls = MalformedRequest if malformed else InvalidInput
        return error_response(cls("; ".join(problems)))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == PayloadTooLarge.status:
            return error_response(PayloadTooLarge(str(exc.detail)))
        body = {"error": {"code": f"HTTP{exc.status_code}", "message": str(exc.detail)}}
        return Response(
            orjson.dumps(body), status_code=exc.status_code, media_type="application/json"
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        logger.exception("Unexpected error on %s %s", request.method, request.url.path)
        body = {
            "error": {
                "code": "InternalError",
                "message": f"Unexpected {type(exc).__name__}; see the server log.",
            }
        }
        return Response(orjson.dumps(body), status_code=500, media_type="application/json")
