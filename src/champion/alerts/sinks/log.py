"""The log sink: one line per alert on the ``champion.alerts`` logger."""

from __future__ import annotations

import logging

from champion.alerts.rules import Alert
from champion.validation import check_choice

__all__ = ["LogSink"]

logger = logging.getLogger("champion.alerts")
_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "critical": logging.CRITICAL}


class LogSink:
    """Logs ``[severity] message`` at the alert's severity (``level`` overrides it).

    >>> LogSink().name
    'log'
    """

    def __init__(self, level: str | None = None) -> None:
        self.level = (
            None if level is None else check_choice("LogSink", "level", level, tuple(_LEVELS))
        )

    @property
    def name(self) -> str:
        return "log"

    def send(self, alert: Alert) -> None:
        level = _LEVELS[self.level or alert.severity]
        logger.log(level, "[%s] %s: %s", alert.severity, alert.state, alert.message)
