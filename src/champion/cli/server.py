"""champion server."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from champion.cli.common import open_services
from champion.errors import InvalidInput

__all__ = ["server"]

_LOG_LEVELS = ("debug", "info", "warning", "error")
_WORKER_HEALTHCHECK_SECONDS = 60


def server(
    host: Annotated[str | None, typer.Option(help="Address to bind; default 127.0.0.1.")] = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Port, 1 to 65535; default 8000.")
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning, error.")] = "info",
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=256,
            help="Worker processes sharing the port, the database and the artifact store; "
            "default one per core (one with --reload).",
        ),
    ] = None,
    reload: Annotated[
        bool, typer.Option(help="Restart on source changes (development; one worker).")
    ] = False,
) -> None:
    """Run the HTTP server (registry, endpoints, predict, rank, feedback)."""
    if log_level not in _LOG_LEVELS:
        # uvicorn's "trace" would log every request's headers, tokens included.
        raise InvalidInput(f"--log-level {log_level!r}: choose one of {', '.join(_LOG_LEVELS)}.")
    if reload and workers is not None and workers > 1:
        raise InvalidInput(f"--reload runs one worker; got --workers {workers}. Drop one of them.")
    # The server's stack (uvicorn, FastAPI, every service) loads once the flags are known good.
    import uvicorn

    from champion.access import check_binding
    from champion.observability.process import LOG_LEVEL_VARIABLE, prepare_process
    from champion.settings import Settings

    settings = Settings()
    if host is not None:
        settings.host = host
    if port is not None:
        settings.port = port
    with open_services(settings) as services:
        check_binding(settings.host, services.tokens)
    count = 1 if reload else workers or len(os.sched_getaffinity(0))
    prepare_process(settings, log_level)  # with workers, the supervisor's own lines
    if count == 1 and not reload:
        from champion.api import create_app

        app: object = create_app(settings)
    else:
        # Each worker builds its own app in its own process, from the environment.
        os.environ.update(
            {
                "CHAMPION_HOST": settings.host,
                "CHAMPION_PORT": str(settings.port),
                LOG_LEVEL_VARIABLE: log_level,
            }
        )
        app = "champion.api.worker:worker_app"
    uvicorn.run(
        app,  # type: ignore[arg-type]  # an ASGI app or its import string, as uvicorn takes
        factory=isinstance(app, str),
        workers=count,
        reload=reload,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        access_log=False,  # champion's own access log has the route, ids and versions
        log_config=None,
        log_level=log_level,
        # A worker answers the supervisor's pings once it has imported champion: on a busy
        # host that takes longer than uvicorn's 5 s, and a worker killed for it is started
        # again, and killed again, forever.
        timeout_worker_healthcheck=_WORKER_HEALTHCHECK_SECONDS,
    )
