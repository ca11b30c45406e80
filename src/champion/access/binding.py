"""Where a server may listen: loopback freely, any other address only behind tokens."""

from __future__ import annotations

import ipaddress

from champion.access.tokens import Tokens
from champion.errors import InvalidInput

__all__ = ["check_binding", "is_loopback"]


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1).

    Examples
    --------
    >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_binding(host: str, tokens: Tokens) -> None:
    """Refuse a non-loopback address while no active token exists."""
    if is_loopback(host) or tokens.active_hashes():
        return
    raise InvalidInput(
        f"Refusing to bind {host!r}: a server reachable from other machines needs access "
        "control, and no token exists. Create one first: "
        "'champion tokens create admin --scope admin'."
    )
