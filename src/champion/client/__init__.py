"""The Python client of a champion server (httpx), blocking and async."""

from __future__ import annotations

from champion.client.client import DEFAULT_URL, AsyncClient, Client
from champion.client.operations import pack

__all__ = ["DEFAULT_URL", "AsyncClient", "Client", "pack"]
