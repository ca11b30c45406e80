"""The command line and ``import champion`` load only what they use, so a command starts in a
fraction of a second (benchmarks/cli_startup.py times it): ``--help`` of every command shows
without SciPy, pandas, the database, the HTTP stack or any of champion's services, and each
command imports what it needs when it runs."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.meta.test_layers import LAYERS

HEAVY = (
    "alembic", "fastapi", "httpx", "numpy", "pandas", "plotly", "scipy", "sklearn", "sqlalchemy",
    "uvicorn",
)  # fmt: skip
DOMAIN = sorted(
    LAYERS["assembly"]
    | LAYERS["services"]
    | LAYERS["storage"]
    | (LAYERS["interfaces"] - {"champion", "__main__", "cli"})
)
"""champion's packages and modules a command's --help must not need: services, storage, their
assembly, the server, the client and the dashboard."""

_EVERY_HELP = """
import sys
from champion.cli.main import command, main

def paths(cmd, path=()):
    yield path
    for name, sub in sorted(getattr(cmd, "commands", {}).items()):
        yield from paths(sub, (*path, name))

failed = []
for path in list(paths(command())):
    sys.argv = ["champion", *path, "--help"]
    try:
        main()
    except SystemExit as exc:
        if exc.code:
            failed.append(path)
"""


def _loaded_by(code: str) -> tuple[list[str], str]:
    """The modules a fresh interpreter holds after ``code``, and what ``code`` printed."""
    script = f"{code}\nimport json\nprint(json.dumps(sorted(sys.modules)))\n"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    *printed, modules = done.stdout.splitlines()
    return json.loads(modules), "\n".join(printed)


def _heavy(modules: list[str]) -> list[str]:
    top = {m.split(".")[0] for m in modules}
    own = {m.split(".")[1] for m in modules if m.startswith("champion.")}
    return sorted((top & set(HEAVY)) | {f"champion.{n}" for n in own & set(DOMAIN)})


def test_every_commands_help_loads_nothing_heavy() -> None:
    modules, printed = _loaded_by(_EVERY_HELP + "print(failed)")
    assert printed.endswith("[]"), "--help failed for these commands"
    assert "Usage: champion experiment plan" in printed  # every command's help was shown
    assert _heavy(modules) == []


def test_importing_the_command_line_loads_nothing_heavy() -> None:
    modules, _ = _loaded_by("import sys, champion.cli.main")
    assert _heavy(modules) == []
    assert "pydantic" not in modules  # the settings load when a command reads them


def test_importing_champion_loads_only_champion() -> None:
    modules, _ = _loaded_by("import sys, champion")
    assert [m for m in modules if m.split(".")[0] == "champion"] == ["champion"]
    assert _heavy(modules) == [] and "pydantic" not in modules


def test_champions_names_load_on_first_use() -> None:
    modules, printed = _loaded_by(
        "import sys, champion\n"
        "print(champion.ChampionError.__module__, 'httpx' in sys.modules)\n"
        "print(champion.Client.__module__, 'httpx' in sys.modules)"
    )
    assert printed.splitlines() == ["champion.errors False", "champion.client.client True"]
    assert "champion.services" not in modules


def test_the_server_loads_no_http_client() -> None:
    # Only a webhook alert and a diagnosis's look-up of the newest packages call out: a server
    # that does neither starts without httpx.
    modules, _ = _loaded_by("import sys\nfrom champion.api import create_app")
    assert "httpx" not in modules
