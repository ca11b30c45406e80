"""What every command shares: settings from the environment, the acting user, output."""

from __future__ import annotations

import contextlib
import getpass
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING

from rich.console import Console

from champion.settings import Settings

if TYPE_CHECKING:
    from champion.services import Services

__all__ = ["actor", "console", "open_services", "status", "stderr"]

console = Console()
stderr = Console(stderr=True)


def actor() -> str:
    """Who acts: CHAMPION_ACTOR, else the login name."""
    try:
        return os.environ.get("CHAMPION_ACTOR") or getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def status(message: str) -> AbstractContextManager[object]:
    """A spinner with ``message`` while work runs, on a terminal only (elsewhere it would
    leave a blank line before the output)."""
    return console.status(message) if console.is_terminal else contextlib.nullcontext()


@contextmanager
def open_services(settings: Settings | None = None) -> Iterator[Services]:
    # Imported here, by the commands that open them: --help and the commands that only call a
    # server never load the database, the registry or SciPy.
    from champion.services import Services

    services = Services.open(settings or Settings())
    try:
        yield services
    finally:
        services.close()
