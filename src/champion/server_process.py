"""Run ``champion server`` in a subprocess on a free loopback port (for the demo and tests)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from champion.errors import Unavailable

__all__ = ["ServerProcess", "free_port"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    """A real server with its own home (and database URL, default SQLite in the home), with
    ``env`` added to its environment (e.g. ``CHAMPION_CONTROLLER_INTERVAL_SECONDS``), and
    ``workers`` processes (one by default, whatever the cores).

    The server's output goes to ``<home>/server.log``.
    """

    def __init__(
        self,
        home: Path,
        database_url: str | None = None,
        log_level: str = "warning",
        env: Mapping[str, str] | None = None,
        workers: int = 1,
    ) -> None:
        self.home = home
        self.database_url = database_url
        self.log_level = log_level
        self.env = dict(env or {})
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.home / "server.log"

    def start(self, timeout: float = 180.0) -> None:
        """Start and wait until ``/v1/health`` answers.

        The timeout only tells a hung server from a slow one: each worker imports and builds
        the whole app (seconds of CPU), which on a loaded two-core host took over a minute.
        """
        env = dict(os.environ, CHAMPION_HOME=str(self.home), **self.env)
        env.pop("CHAMPION_DATABASE_URL", None)
        if self.database_url:
            env["CHAMPION_DATABASE_URL"] = self.database_url
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as handle:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "champion", "server", "--port", str(self.port),
                 "--log-level", self.log_level, "--workers", str(self.workers)],
                env=env, stdout=handle, stderr=handle,
                start_new_session=True,  # its workers too go with kill()
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        # One client for every poll: building one (its TLS context) costs ~25 ms of CPU, which
        # ten polls a second would take from the server starting beside them.
        with httpx.Client(timeout=1) as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise Unavailable(f"The server exited; see {self.log}:\n{self.log.read_text()}")
                try:
                    if http.get(self.url + "/v1/health").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
        # Not left running behind the error: nobody would ever stop it.
        self.stop()
        # Its last lines, since the log is often gone (a CI machine's temporary folder).
        tail = "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])
        raise Unavailable(
            f"The server did not start within {timeout:g} s; see {self.log}, which ends:\n{tail}"
        )

    def kill(self) -> None:
        """SIGKILL, to the server and its workers: no shutdown hook runs (crash tests)."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        """SIGTERM and wait for a clean shutdown (queued events are written)."""
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
            self.process = None
