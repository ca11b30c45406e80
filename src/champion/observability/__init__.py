"""What an operator follows a request by: request ids, log lines and trace spans."""

from __future__ import annotations

from champion.observability.context import (
    MAX_REQUEST_ID,
    RequestContext,
    current_request,
    valid_request_id,
)
from champion.observability.logs import (
    JsonFormatter,
    RequestFields,
    TextFormatter,
    configure_logging,
)
from champion.observability.tracing import Tracing

__all__ = [
    "MAX_REQUEST_ID",
    "JsonFormatter",
    "RequestContext",
    "RequestFields",
    "TextFormatter",
    "Tracing",
    "configure_logging",
    "current_request",
    "valid_request_id",
]
