"""The ``champion`` command (Typer + Rich): ``app`` to embed, ``main`` to run it."""

from __future__ import annotations

from champion.cli.main import app, main

__all__ = ["app", "main"]
