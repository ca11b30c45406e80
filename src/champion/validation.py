"""Turning validation failures into one message format that names the field and the value."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from champion.errors import InvalidInput

__all__ = ["describe_validation_error", "invalid_input", "location"]


def location(parts: Sequence[int | str], root: str = "") -> str:
    """Render a pydantic location ``('instances', 0, 'tenure')`` as ``instances[0].tenure``."""
    text = root
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "body"


def describe_validation_error(error: ValidationError, root: str = "", limit: int = 5) -> str:
    """One line per problem, at most ``limit``: ``field: what is wrong (got value)``."""
    lines = []
    for item in error.errors(include_url=False)[:limit]:
        where = location([p for p in item["loc"] if isinstance(p, int | str)], root)
        message = item["msg"]
        if item["type"] not in {"missing"}:
            message += f", got {_short(item.get('input'))}"
        lines.append(f"{where}: {message}")
    more = error.error_count() - limit
    if more > 0:
        lines.append(f"... and {more} more problem(s)")
    return "; ".join(lines)


def invalid_input(error: ValidationError, root: str = "") -> InvalidInput:
    return InvalidInput(describe_validation_error(error, root))


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
