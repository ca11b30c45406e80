"""Shared aliases and tiny value types."""

from __future__ import annotations

from typing import Any, TypeAlias

__all__ = ["Instance", "ItemId", "Json", "RequestId", "UnitId"]

Json: TypeAlias = Any
"""Any value that orjson can serialise."""
UnitId: TypeAlias = str
"""Who is randomised: a user, session or request id."""
RequestId: TypeAlias = str
ItemId: TypeAlias = str | int
Instance: TypeAlias = dict[str, Any]
"""One input row of a prediction request, keyed by the signature's field names."""
