"""What every serving process sets up before it builds its app, and how the command line's log
level reaches the workers of ``champion server --workers N``.

It imports no part of the app: the supervisor of a multi-worker server only binds the port and
watches its workers, so it sets itself up without paying for the app its workers each build.
"""

from __future__ import annotations

import sys

from champion.observability.logs import configure_logging
from champion.settings import Settings

__all__ = ["LOG_LEVEL_VARIABLE", "prepare_process"]

LOG_LEVEL_VARIABLE = "CHAMPION_WORKER_LOG_LEVEL"
"""How ``champion server --log-level`` reaches its workers."""


def prepare_process(settings: Settings, log_level: str) -> None:
    """Bound the thread switch interval and configure the log lines."""
    # The event writer thread shares the GIL with requests; by default a thread keeps it up
    # to 5 ms, which shows up as a 5 ms tail on fast predictions. 0.5 ms bounds that wait.
    sys.setswitchinterval(0.0005)
    # CHAMPION_LOG_FORMAT: JSON lines, or text on a terminal; uvicorn's own lines go the same
    # way (log_config=None keeps it from installing its formatters).
    configure_logging(settings.log_format, log_level, access_log=settings.access_log)
