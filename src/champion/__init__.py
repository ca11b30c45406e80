"""champion: take a trained model to production and prove it is better with real users."""

from __future__ import annotations

from champion.client import AsyncClient, Client
from champion.errors import ChampionError
from champion.saving import save_model
from champion.settings import Settings

__version__ = "0.1.0"

__all__ = ["AsyncClient", "ChampionError", "Client", "Settings", "__version__", "save_model"]
