"""How long a server takes to start: importing the app, and ``champion server`` until its first
200 on ``/v1/health``, each in a fresh process as a user (or a test) starts it.

    .venv/bin/python -m benchmarks.server_startup [--src SRC ...] [--runs 5]

For each ``--src`` folder (default: this checkout's ``src``; to compare with another commit in
the same run, ``mkdir /tmp/base && git archive COMMIT src | tar -x -C /tmp/base`` and pass
``--src /tmp/base/src --src src``):

- the wall time of ``python -c "import champion.api.app"``,
- the total of ``python -X importtime -c "import champion.api.app"`` (the sum of every module's
  own time) and the part of it that SciPy's, pandas' and scikit-learn's own modules take (0
  when not imported),
- the wall time from starting ``champion server`` (one worker, SQLite in a home migrated
  beforehand) to its first 200 on ``/v1/health``,

each the median of ``--runs`` fresh processes, the checkouts taking turns. The table is printed
in Markdown.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.cli_startup import own_import_seconds, print_medians

from champion.server_process import ServerProcess

_REPO = Path(__file__).resolve().parent.parent
_IMPORT = "import champion.api.app"


def _env(src: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAMPION_")}
    return env | {"PYTHONPATH": str(src)}


def _wall(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def _import_times(env: dict[str, str]) -> dict[str, float]:
    own = own_import_seconds("champion.api.app", env)
    found = {f"{_IMPORT} (importtime total)": sum(own.values())}
    for package in ("scipy", "pandas", "sklearn"):
        found[f"  of which {package}"] = sum(
            t for name, t in own.items() if name.split(".")[0] == package
        )
    return found


def _first_health(src: Path, home: Path) -> float:
    server = ServerProcess(home, env={"PYTHONPATH": str(src)})
    start = time.perf_counter()
    server.start()
    elapsed = time.perf_counter() - start
    server.stop()
    return elapsed


def sample(src: Path, home: Path) -> dict[str, float]:
    """One fresh process per measure."""
    env = _env(src)
    return {
        _IMPORT: _wall([sys.executable, "-c", _IMPORT], env),
        **_import_times(env),
        "champion server to the first 200 on /v1/health": _first_health(src, home),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, action="append", help="A checkout's src folder.")
    parser.add_argument("--runs", type=int, default=5, help="Fresh processes per measure.")
    args = parser.parse_args()
    sources: list[Path] = [src.resolve() for src in args.src or [_REPO / "src"]]
    samples: dict[str, list[dict[str, float]]] = {str(src): [] for src in sources}
    with tempfile.TemporaryDirectory() as tmp:
        homes = {src: Path(tmp) / str(i) for i, src in enumerate(sources)}
        for src, home in homes.items():
            _first_health(src, home)  # creates and migrates the database: not what is timed
        for _ in range(args.runs):  # the checkouts alternate, so a busy spell hits each alike
            for src, home in homes.items():
                samples[str(src)].append(sample(src, home))
    print_medians(samples, args.runs)


if __name__ == "__main__":
    main()
