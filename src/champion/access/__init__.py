"""Access control: scoped API tokens, stored hashed, and the scope each call needs."""

from __future__ import annotations

from champion.access.binding import check_binding, is_loopback
from champion.access.keyring import Keyring
from champion.access.scopes import SCOPES, Scope, grants, required_scope
from champion.access.tables import api_tokens
from champion.access.tokens import Token, Tokens, digest

__all__ = [
    "SCOPES",
    "Keyring",
    "Scope",
    "Token",
    "Tokens",
    "api_tokens",
    "check_binding",
    "digest",
    "grants",
    "is_loopback",
    "required_scope",
]
