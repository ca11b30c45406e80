"""One worker of ``champion server --workers N``: the app each worker process builds.

uvicorn starts every worker in a fresh process and builds its app there from an import
string, so the settings the command line gave reach the workers through the environment
(``CHAMPION_HOST``, ``CHAMPION_PORT`` and ``CHAMPION_WORKER_LOG_LEVEL``, set by the command).
"""

from __future__ import annotations

import os
import sys

from fastapi import FastAPI

from champion.api.app import create_app
from champion.observability import configure_logging
from champion.settings import Settings

__all__ = ["LOG_LEVEL_VARIABLE", "prepare_process", "worker_app"]

LOG_LEVEL_VARIABLE = "CHAMPION_WORKER_LOG_LEVEL"
"""How ``champion server --log-level`` reaches its workers."""


def prepare_process(settings: Settings, log_level: str) -> None:
    """What every serving process sets up before it builds its app."""
    # The event writer thread shares the GIL with requests; by default a thread keeps it up
    # to 5 ms, which shows up as a 5 ms tail on fast predictions. 0.5 ms bounds that wait.
    sys.setswitchinterval(0.0005)
    # CHAMPION_LOG_FORMAT: JSON lines, or text on a terminal; uvicorn's own lines go the same
    # way (log_config=None keeps it from installing its formatters).
    configure_logging(settings.log_format, log_level, access_log=settings.access_log)


def worker_app() -> FastAPI:
    """The app of one worker process (uvicorn's ``factory``)."""
    settings = Settings()
    prepare_process(settings, os.environ.get(LOG_LEVEL_VARIABLE, "info"))
    return create_app(settings)
