"""What --help shows before a command loads the domain (tolerance, server address, scopes) is
what the domain uses."""

from __future__ import annotations

from champion import access, client
from champion.cli import models, predict, tokens
from champion.registry import compiling


def test_help_shows_the_domains_own_defaults() -> None:
    assert models.DEFAULT_TOLERANCE == compiling.DEFAULT_TOLERANCE
    assert predict.DEFAULT_URL == client.DEFAULT_URL
    assert tokens.SCOPES == access.SCOPES
