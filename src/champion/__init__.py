"""champion: take a trained model to production and prove it is better with real users."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from champion.client import AsyncClient, Client
    from champion.errors import ChampionError
    from champion.saving import save_model
    from champion.settings import Settings

__version__ = "0.1.0"

__all__ = ["AsyncClient", "ChampionError", "Client", "Settings", "__version__", "save_model"]

# Where each public name lives. They load on first use (PEP 562): `import champion.errors`, or
# a command line's --help, then pays neither for the client (httpx) nor for the registry.
_HOMES = {
    "AsyncClient": "champion.client",
    "ChampionError": "champion.errors",
    "Client": "champion.client",
    "Settings": "champion.settings",
    "save_model": "champion.saving",
}

if not TYPE_CHECKING:  # hidden from mypy, which would otherwise type any misspelt name as Any

    def __getattr__(name: str) -> Any:
        home = _HOMES.get(name)
        if home is None:
            raise AttributeError(f"module 'champion' has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        globals()[name] = value  # found by plain lookup from now on
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
