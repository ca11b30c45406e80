"""How long the command line takes to start: imports, ``--help`` and one command that reads the
database, each in a fresh process as a user runs it.

    .venv/bin/python benchmarks/cli_startup.py [--src SRC ...] [--runs 5]

For each ``--src`` folder (default: this checkout's ``src``; to compare with another commit in
the same run, ``mkdir /tmp/base && git archive COMMIT src | tar -x -C /tmp/base`` and pass
``--src /tmp/base/src --src src``):

- the total of ``python -X importtime -c "import champion.cli.main"`` (the sum of every
  module's own time),
- the wall time of ``champion --help``, ``champion models --help`` and
  ``champion experiment plan --help``,
- the wall time of ``champion models list`` on a SQLite home made (and migrated) beforehand,
- the import totals of ``import champion`` and of the server's ``import champion.api.worker``
  (which imports ``create_app``),

each the median of ``--runs`` fresh processes, the checkouts taking turns. The table is printed
in Markdown.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent
_CLI = "from champion.cli.main import main; main()"


def _env(src: Path, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAMPION_")}
    env |= {"PYTHONPATH": str(src), "CHAMPION_HOME": str(home), "COLUMNS": "100"}
    return env


def _wall(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def own_import_seconds(module: str, env: dict[str, str]) -> dict[str, float]:
    """Each module's own time in ``python -X importtime -c "import MODULE"``."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    # Each line: "import time: self | cumulative | name"; the selves add up to the total.
    rows = [
        line.removeprefix("import time:").split("|")
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and not line.split("|")[0].strip().endswith("[us]")
    ]
    return {name.strip(): int(own) / 1e6 for own, _, name in rows}


def _import_seconds(module: str, env: dict[str, str]) -> float:
    return sum(own_import_seconds(module, env).values())


def sample(env: dict[str, str]) -> dict[str, float]:
    """One fresh process per measure."""
    cli = [sys.executable, "-c", _CLI]
    return {
        "import champion.cli.main (importtime total)": _import_seconds("champion.cli.main", env),
        "champion --help": _wall([*cli, "--help"], env),
        "champion models --help": _wall([*cli, "models", "--help"], env),
        "champion experiment plan --help": _wall([*cli, "experiment", "plan", "--help"], env),
        "champion models list (SQLite)": _wall([*cli, "models", "list"], env),
        "import champion (importtime total)": _import_seconds("champion", env),
        "import champion.api.worker (importtime total)": _import_seconds(
            "champion.api.worker", env
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, action="append", help="A checkout's src folder.")
    parser.add_argument("--runs", type=int, default=5, help="Fresh processes per measure.")
    args = parser.parse_args()
    sources: list[Path] = args.src or [_REPO / "src"]
    with tempfile.TemporaryDirectory() as tmp:
        envs = {str(src): _env(src, Path(tmp) / str(i)) for i, src in enumerate(sources)}
        for env in envs.values():
            # The first command creates and migrates the database: not what is timed.
            cli = [sys.executable, "-c", _CLI, "models", "list"]
            subprocess.run(cli, env=env, check=True, capture_output=True)
        samples: dict[str, list[dict[str, float]]] = {name: [] for name in envs}
        for _ in range(args.runs):  # the checkouts alternate, so a busy spell hits each alike
            for name, env in envs.items():
                samples[name].append(sample(env))
    print_medians(samples, args.runs)


def print_medians(samples: dict[str, list[dict[str, float]]], runs: int) -> None:
    """A Markdown table: each measure's median, one column per checkout."""
    found = {
        name: {k: statistics.median(s[k] for s in taken) for k in taken[0]}
        for name, taken in samples.items()
    }
    names = list(next(iter(found.values())))
    print(f"| median of {runs} (s) | " + " | ".join(found) + " |")
    print("| --- |" + " ---: |" * len(found))
    for name in names:
        print(f"| {name} | " + " | ".join(f"{f[name]:.2f}" for f in found.values()) + " |")


if __name__ == "__main__":
    main()
