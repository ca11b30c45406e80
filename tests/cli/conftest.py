"""The command line as a user types it: ``champion(*args)`` runs the installed entry point,
``champion.cli.main.main()``, in this process (a subprocess costs seconds of imports per call;
tests/cli/test_cli.py shows the real executable once)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from champion.cli import common
from champion.cli.main import main
from champion.settings import Settings


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def text(self) -> str:
        """stdout with the console's line wrapping undone."""
        return " ".join(self.stdout.split())


CommandLine = Callable[..., Result]


@pytest.fixture
def champion(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> CommandLine:
    monkeypatch.setenv("CHAMPION_HOME", str(settings.home))
    monkeypatch.setenv("CHAMPION_ACTOR", "cli-user")
    # The consoles are built at import, before this fixture runs: set their width itself.
    for console in (common.console, common.stderr):
        monkeypatch.setattr(console, "width", 200)
    if settings.database_url:
        monkeypatch.setenv("CHAMPION_DATABASE_URL", settings.database_url)
    else:
        monkeypatch.delenv("CHAMPION_DATABASE_URL", raising=False)

    def run(*args: str) -> Result:
        monkeypatch.setattr(sys, "argv", ["champion", *args])
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = int(exc.code or 0)
        out = capsys.readouterr()
        return Result(code, out.out, out.err)

    return run
