"""champion server."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from champion.access import check_binding
from champion.cli.common import open_services
from champion.errors import InvalidInput
from champion.observability import configure_logging
from champion.settings import Settings

__all__ = ["server"]

_LOG_LEVELS = ("debug", "info", "warning", "error")


def server(
    host: Annotated[str | None, typer.Option(help="Address to bind; default 127.0.0.1.")] = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Port, 1 to 65535; default 8000.")
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning, error.")] = "info",
) -> None:
    """Run the HTTP server (registry, endpoints, predict, rank, feedback)."""
    import uvicorn

    from champion.api import create_app

    if log_level not in _LOG_LEVELS:
        # uvicorn's "trace" would log every request's headers, tokens included.
        raise InvalidInput(f"--log-level {log_level!r}: choose one of {', '.join(_LOG_LEVELS)}.")
    settings = Settings()
    if host is not None:
        settings.host = host
    if port is not None:
        settings.port = port
    with open_services(settings) as services:
        check_binding(settings.host, services.tokens)
    # The event writer thread shares the GIL with requests; by default a thread keeps it up to
    # 5 ms, which shows up as a 5 ms tail on fast predictions. 0.5 ms bounds that wait.
    sys.setswitchinterval(0.0005)
    # CHAMPION_LOG_FORMAT: JSON lines, or text on a terminal; uvicorn's own lines go the same
    # way (log_config=None keeps it from installing its formatters).
    configure_logging(settings.log_format, log_level, access_log=settings.access_log)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        access_log=False,  # champion's own access log has the route, ids and versions
        log_config=None,
        log_level=log_level,
        workers=1,
    )
