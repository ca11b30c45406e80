"""The error answers each route declares, so that the OpenAPI document lists the statuses a
route really gives (and the schemathesis run checks that it gives no other).

The answer bodies themselves are in :mod:`champion.answers`, shared with the client. Hot
routes (predict, rank, infer) and the reports build their JSON by hand (for speed, and to
keep numbers as they are computed): FastAPI documents their ``response_model`` without
applying it; the others are validated against theirs as FastAPI serialises the answer.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from champion.answers import ErrorAnswer, OipErrorAnswer

__all__ = [
    "ERRORS",
    "LOOKUP",
    "OIP_ERRORS",
    "OIP_INFER",
    "OIP_LOOKUP",
    "QUERY",
    "SERVE",
    "UNIT_LEVEL",
    "WRITE",
    "errors",
    "oip_readiness",
]

Responses = dict[int | str, dict[str, Any]]

_WHY = {
    400: "Malformed JSON or form; a NUL character in the path or query",
    401: "No token, or an unknown or revoked one",
    403: "The token lacks the scope; another site's request",
    404: "Unknown model, version, alias, endpoint or other named thing",
    409: "The request clashes with stored state",
    410: "The window's unit-level rows were compacted (CHAMPION_KEEP_UNIT_ROLLUPS)",
    413: "The body is over the configured limit",
    422: "A field has a wrong value, type or shape (the message names it)",
    500: "The model raised or timed out on valid input",
    503: "The database (or a stored artifact) cannot serve now",
    507: "The disk ran out while storing",
}


def _declare(model: type[BaseModel], statuses: tuple[int, ...]) -> Responses:
    return {status: {"model": model, "description": _WHY[status]} for status in statuses}


def errors(*statuses: int) -> Responses:
    """The /v1 error answers with these statuses, to declare on a route."""
    return _declare(ErrorAnswer, statuses)


ERRORS = errors(400, 401, 403, 503)
"""What any guarded /v1 route may answer: a NUL in the URL, a refused token, no database."""
QUERY = errors(422)
"""A route with query parameters or a body: a wrong value."""
LOOKUP = errors(404, 422)
"""A route naming a stored thing in its path."""
WRITE = errors(404, 409, 413, 422, 507)
"""A route that stores a change."""
UNIT_LEVEL = errors(404, 410, 422)
"""A route whose answer needs per-unit rows over a window, which compaction may have merged."""
SERVE = errors(404, 409, 413, 422, 500, 507)
"""predict and rank: a version may fail (500) or no longer match its sha256 (409)."""

OIP_ERRORS = {
    **_declare(OipErrorAnswer, (401, 403, 503)),
    400: {"model": OipErrorAnswer, "description": "Malformed JSON, or a wrong value (as Triton)"},
    # Declared, "4XX" also keeps FastAPI from documenting its own 422, which /v2 never gives.
    "4XX": {"model": OipErrorAnswer, "description": "Any other refusal"},
}
"""What any /v2 route may answer (no 422: a wrong value is a 400 there)."""
OIP_LOOKUP = _declare(OipErrorAnswer, (404,))
OIP_INFER: Responses = {
    200: {
        "description": "With binary outputs asked for: the JSON header, then the tensors' "
        "bytes (Inference-Header-Content-Length gives the header's length).",
        "content": {"application/octet-stream": {"schema": {"type": "string"}}},
    },
    **_declare(OipErrorAnswer, (404, 409, 413, 500, 507)),
}


def oip_readiness(model: type[BaseModel]) -> Responses:
    """A /v2 readiness route: the protocol's "not ready" is a 400 with ``model``'s body."""
    return {
        **OIP_LOOKUP,
        400: {
            "model": model | OipErrorAnswer,
            "description": "Not ready (the protocol's false), or a malformed request",
        },
    }
