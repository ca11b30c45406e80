"""Which scope a call needs, decided from its method and path alone.

Deciding centrally, before routing, means a route added later is protected the day it is
added: anything not listed as readable, a prediction or feedback needs ``admin``.
"""

from __future__ import annotations

import re
from typing import Literal

__all__ = ["OPEN_PATHS", "SCOPES", "Scope", "grants", "required_scope"]

Scope = Literal["read", "predict", "feedback", "admin"]
SCOPES: tuple[Scope, ...] = ("read", "predict", "feedback", "admin")

OPEN_PATHS = re.compile(
    r"^(/v1/health(/live|/ready)?|/v2/health/live|/v2/health/ready|/static/[^?#]*"
    # The dashboard's pages are empty shells: every number on them comes from the JSON API,
    # which the page's script calls with the user's token.
    r"|/|/endpoints/[^/]+(/drift)?|/registry|/alerts|/pipelines|/audit"
    # So are the API documents' pages and their scripts; /openapi.json itself needs 'read'.
    r"|/docs|/redoc|/docs/assets/[^/?#]+)$"
)
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_PREDICT = re.compile(
    r"^(/v1/endpoints/[^/]+/(predict|rank)|/v2/models/[^/]+(/versions/[^/]+)?/infer)$"
)
_FEEDBACK = re.compile(r"^/v1/feedback(/batch)?$")


def required_scope(method: str, path: str) -> Scope | None:
    """The scope a call needs; None for the few open paths.

    Examples
    --------
    >>> required_scope("GET", "/v1/models")
    'read'
    >>> required_scope("POST", "/v1/endpoints/recs/rank")
    'predict'
    >>> required_scope("POST", "/v1/feedback/batch")
    'feedback'
    >>> required_scope("POST", "/v1/endpoints/recs/experiment/promote")
    'admin'
    >>> required_scope("GET", "/v1/health") is None
    True
    """
    method = method.upper()
    if method in _SAFE_METHODS:
        return None if OPEN_PATHS.match(path) else "read"
    if method == "POST" and _PREDICT.match(path):
        return "predict"
    if method == "POST" and _FEEDBACK.match(path):
        return "feedback"
    return "admin"


def grants(scopes: frozenset[str], needed: Scope) -> bool:
    """``admin`` holds every scope; any other scope holds only itself."""
    return "admin" in scopes or needed in scopes
