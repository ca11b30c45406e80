"""The command line loads only what it uses, so a command starts in a fraction of a second
(benchmarks/cli_startup.py times it): ``--help`` of every command shows without SciPy, pandas,
the database, the server or any of champion's services, and each command imports what it needs
when it runs. ``import champion`` brings its public names (the client, the settings,
save_model) and nothing heavier.

A server starts without SciPy, pandas, pyarrow or scikit-learn (about half of its import time):
the statistics, drift, data files and pipelines that need them import them where they run, so
every server process and worker answers sooner and only the requests and duties that use them
pay for them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.meta.test_layers import LAYERS

HEAVY = (
    "alembic", "fastapi", "numpy", "pandas", "plotly", "scipy", "sklearn", "sqlalchemy", "uvicorn",
)  # fmt: skip
DOMAIN = sorted(
    LAYERS["assembly"]
    | LAYERS["services"]
    | LAYERS["storage"]
    | (LAYERS["interfaces"] - {"champion", "__main__", "cli", "client", "saving"})
)
"""champion's packages and modules a command's --help must not need: services, storage, their
assembly, the server and the dashboard (the client and save_model are the root package's own
names, which ``import champion`` brings)."""

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


_SERVER = """
import shutil, sys
from pathlib import Path
from fastapi.testclient import TestClient
from champion.api.app import create_app
from champion.settings import Settings

home = Path({home!r})
home.mkdir()
shutil.copyfile({database!r}, home / "champion.db")
app = create_app(Settings(home=home))
with TestClient(app, base_url="http://127.0.0.1") as client:
    print(client.get("/v1/health").status_code)
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


def test_importing_champion_loads_its_names_and_nothing_heavy() -> None:
    modules, printed = _loaded_by("import sys, champion\nprint(champion.Client.__module__)")
    assert printed == "champion.client.client"
    assert _heavy(modules) == [] and "champion.services" not in modules


def test_the_supervisor_of_several_workers_sets_itself_up_without_the_app() -> None:
    # It only binds the port and watches its workers; each worker builds its own app.
    modules, _ = _loaded_by("import sys, champion.observability.process")
    assert _heavy(modules) == []


def test_a_server_starts_and_answers_without_scipy_pandas_or_scikit_learn(
    sqlite_template: Path, tmp_path: Path
) -> None:
    code = _SERVER.format(home=str(tmp_path / "home"), database=str(sqlite_template))
    modules, printed = _loaded_by(code)
    assert printed == "200"  # started (its lifespan ran) and answered
    top = {m.split(".")[0] for m in modules}
    assert "champion.api.app" in modules
    assert sorted(top & {"pandas", "pyarrow", "scipy", "sklearn"}) == []
