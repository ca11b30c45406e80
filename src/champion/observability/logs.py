"""Server log lines: JSON objects (one a line) or text, each with the request's ids.

``configure_logging`` is called once by ``champion server``, never on import. Fields passed
with ``extra=`` become keys of a JSON line and ``key=value`` pairs at the end of a text line.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

import orjson

from champion.observability.context import current_request

__all__ = ["JsonFormatter", "RequestFields", "TextFormatter", "configure_logging"]

# What every LogRecord carries: not extra fields. uvicorn adds ``color_message`` (the same
# message with terminal colours) to its own records.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


class RequestFields(logging.Filter):
    """Adds the ids of the request being served (``request_id``, ``client_request_id``,
    ``trace_id``) to every record written while it is, from any layer."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = current_request()
        if context is not None and not hasattr(record, "request_id"):
            record.request_id = context.request_id
            if context.client_request_id is not None:
                record.client_request_id = context.client_request_id
            if context.trace_id is not None:
                record.trace_id = context.trace_id
        return True


def _extra(record: logging.LogRecord) -> dict[str, Any]:
    return {
        key: value
        for key, value in record.__dict__.items()
        if key not in _STANDARD and not key.startswith("_") and value is not None
    }


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``,
    the record's extra fields, and ``exception`` (the traceback) when there is one.

    Examples
    --------
    >>> import logging
    >>> record = logging.makeLogRecord(
    ...     {"name": "champion.access", "levelname": "INFO", "msg": "GET /v1/health 200",
    ...      "created": 0.0, "status": 200})
    >>> line = JsonFormatter().format(record)
    >>> line[:63]
    '{"time":"1970-01-01T00:00:00.000Z","level":"INFO","logger":"cha'
    >>> line[63:]
    'mpion.access","message":"GET /v1/health 200","status":200}'
    """

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(_extra(record))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        # default=str: an extra field of a type JSON lacks is written as text, never lost.
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    """``time level logger: message key=value …`` for people reading a terminal.

    Examples
    --------
    >>> import logging
    >>> record = logging.makeLogRecord(
    ...     {"name": "champion.access", "levelname": "INFO", "msg": "GET /v1/health 200",
    ...      "created": 0.0, "request_id": "0190c2"})
    >>> print(TextFormatter().format(record))
    1970-01-01T00:00:00.000Z INFO champion.access: GET /v1/health 200 request_id=0190c2
    """

    def format(self, record: logging.LogRecord) -> str:
        text = f"{_time(record)} {record.levelname} {record.name}: {record.getMessage()}"
        pairs = " ".join(f"{key}={value}" for key, value in _extra(record).items())
        if pairs:
            text = f"{text} {pairs}"
        if record.exc_info:
            text = f"{text}\n{self.formatException(record.exc_info)}"
        if record.stack_info:
            text = f"{text}\n{self.formatStack(record.stack_info)}"
        return text


def _time(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def configure_logging(
    log_format: Literal["auto", "json", "text"],
    level: str,
    stream: TextIO | None = None,
    *,
    access_log: bool = False,
) -> logging.Handler:
    """Send every logger's records (uvicorn's too) to ``stream`` (stderr) as JSON lines or
    text; ``auto`` means text on a terminal and JSON otherwise. With ``access_log``, the
    ``champion.access`` lines are written whatever ``level`` is. Returns the handler."""
    target = stream if stream is not None else sys.stderr
    if log_format == "auto":
        log_format = "text" if target.isatty() else "json"
    handler = logging.StreamHandler(target)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(RequestFields())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        # Their records reach the root handler, at its level: no handlers of their own, no
        # second copy.
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
    if access_log:
        logging.getLogger("champion.access").setLevel(logging.INFO)
    return handler
