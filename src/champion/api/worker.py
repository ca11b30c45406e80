"""One worker of ``champion server --workers N``: the app each worker process builds.

uvicorn starts every worker in a fresh process and builds its app there from an import
string, so the settings the command line gave reach the workers through the environment
(``CHAMPION_HOST``, ``CHAMPION_PORT`` and ``CHAMPION_WORKER_LOG_LEVEL``, set by the command).
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from champion.api.app import create_app
from champion.observability.process import LOG_LEVEL_VARIABLE, prepare_process
from champion.settings import Settings

__all__ = ["worker_app"]


def worker_app() -> FastAPI:
    """The app of one worker process (uvicorn's ``factory``)."""
    settings = Settings()
    prepare_process(settings, os.environ.get(LOG_LEVEL_VARIABLE, "info"))
    return create_app(settings)
