"""Browser-timed: the dashboard's experiment page over a database analysis_scale.py filled.

``analysis_scale.py --keep FILE`` (SQLite) or ``--database URL`` (PostgreSQL) leaves one
canary endpoint's events, folded. This script makes that database a server's: it registers
``m/1`` and ``m/2`` (a small LogisticRegression), sets the endpoint ``bench`` to the same
canary and starts a click-rate experiment at its first event (each only if not done yet),
starts ``champion server`` on it and opens ``/endpoints/bench`` in Debian's Chromium. It
reports, as the median of ``--repeat`` fresh page loads:

- ``page_seconds``: from navigation until the page says "updated" and its experiment
  charts (``goal-arms``, ``goal-effect``) draw data: what a user waits for;
- ``api``: each JSON call the page made, timed by the browser (Resource Timing).

With ``--traffic SECONDS`` the page is opened beside live traffic: ``wrk -t1 -c1`` sends
predictions from 50,000 random units for SECONDS first (the fold loop settles), then all
through the page loads; the result says the traffic's rate and latency. ``--env NAME=VALUE``
sets the server's environment (``CHAMPION_FOLD_MAX_RAW=1000``, say), ``--workers N`` its
processes (one by default).

Run from the repository root (the server reads the database; nothing else should):

    nice -n 10 .venv/bin/python benchmarks/analysis_scale.py --events 3000000 --skip-raw \\
        --keep /tmp/bench.db
    .venv/bin/python benchmarks/experiment_page.py --sqlite /tmp/bench.db
    .venv/bin/python benchmarks/experiment_page.py \\
        --database postgresql://postgres:champion@127.0.0.1:5432/bench [--traffic 120]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.analysis_scale import ENDPOINT, PARAMS, START  # noqa: E402
from benchmarks.run import parse_wrk  # noqa: E402

from champion.clock import FixedClock  # noqa: E402
from champion.db import write  # noqa: E402
from champion.errors import NotFound  # noqa: E402
from champion.events.totals_rebuild import rebuild_totals  # noqa: E402
from champion.saving import save_model  # noqa: E402
from champion.server_process import ServerProcess  # noqa: E402
from champion.services import Services  # noqa: E402
from champion.settings import Settings  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
CHARTS = ("goal-arms", "goal-effect")
# The numbers a chart draws (an effect may be 0 or below, and its x are dates).
DRAWN = """(id) => (document.getElementById(id).data || [])
    .flatMap((t) => [...(t.y || [])])
    .filter((v) => typeof v === 'number' && Number.isFinite(v)).length"""
API_TIMES = """() => performance.getEntriesByType('resource')
    .filter((e) => e.name.includes('/v1/'))
    .map((e) => [new URL(e.name).pathname, e.duration / 1000])"""


def prepare(settings: Settings) -> None:
    """Versions, endpoint and experiment for the loaded events, unless already there."""
    services = Services.open(settings, FixedClock(START))
    try:
        try:
            registered = len(services.registry.list_versions("m"))
        except NotFound:
            registered = 0
        if registered < 2:
            rng = np.random.default_rng(0)
            frame = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
            model = LogisticRegression().fit(frame, frame["a"] > 0)
            folder = save_model(model, Path(tempfile.mkdtemp()) / "m", example=frame)
            for alias in ("champion", "challenger"):
                services.registry.register(
                    folder, model="m", actor="bench", aliases_to_set=(alias,)
                )
        try:
            services.endpoints.get(ENDPOINT)
        except NotFound:
            services.endpoints.set(ENDPOINT, "canary", PARAMS, actor="bench")
            body = {"goal": "click_rate", "guardrails": [], "automation": "manual"}
            services.experiments.set(ENDPOINT, body, actor="bench", reason="page timing")
            # The experiment starts at the first event, before everything analysis_scale.py
            # folded: the kept totals are rebuilt for its segment (what `champion admin
            # rebuild-aggregates --from-rollups` does), as if it had run from the start.
            # Without this every read falls back to the rollups (seconds at 3 x 10^6 events).
            with write(services.engine) as conn:
                rebuild_totals(conn)
    finally:
        services.close()


def time_page(url: str, repeat: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    loads: list[float] = []
    api: dict[str, list[float]] = defaultdict(list)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            for _ in range(repeat):
                context = browser.new_context(viewport={"width": 1280, "height": 1000})
                page = context.new_page()
                started = time.perf_counter()
                page.goto(f"{url}/endpoints/{ENDPOINT}", wait_until="domcontentloaded")
                page.wait_for_selector("#status:text-matches('^updated')", timeout=600_000)
                deadline = time.monotonic() + 600
                for chart in CHARTS:
                    while not page.evaluate(DRAWN, chart):
                        if time.monotonic() > deadline:
                            raise SystemExit(f"The chart {chart!r} drew nothing in 600 s.")
                        page.wait_for_timeout(20)
                loads.append(time.perf_counter() - started)
                for path, seconds in page.evaluate(API_TIMES):
                    api[path].append(seconds)
                context.close()
        finally:
            browser.close()
    return {
        "page_seconds": statistics.median(loads),
        "page_seconds_each": loads,
        "api_seconds_median": {path: statistics.median(t) for path, t in sorted(api.items())},
    }


def add_database_arguments(parser: argparse.ArgumentParser) -> None:
    """``--sqlite FILE`` or ``--database URL``: the events analysis_scale.py left; and the
    server's ``--workers``."""
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--sqlite", type=Path, help="a SQLite file analysis_scale.py kept")
    where.add_argument("--database", help="a PostgreSQL URL analysis_scale.py filled")
    parser.add_argument(
        "--workers", type=int, default=1, help="server processes (champion server --workers)"
    )


def started_server(
    parser: argparse.ArgumentParser, args: argparse.Namespace, env: dict[str, str] | None = None
) -> ServerProcess:
    """A running ``champion server`` over the database the arguments name, prepared (see
    :func:`prepare`); its controller looks once an hour, so it reads nothing meanwhile."""
    if args.sqlite is not None and not args.sqlite.is_file():
        parser.error(
            f"--sqlite {args.sqlite}: no such file (make it with analysis_scale.py --keep)"
        )
    url = args.database or f"sqlite:///{args.sqlite.resolve()}"
    # The versions' files live in this home (kept for the next run over the same database);
    # the events and their aggregates in the database.
    home = HERE / "build" / f"experiment_page_{'postgresql' if args.database else 'sqlite'}"
    prepare(Settings(home=home, database_url=url))
    environment = {"CHAMPION_CONTROLLER_INTERVAL_SECONDS": "3600", **(env or {})}
    server = ServerProcess(home, url, env=environment, workers=args.workers)
    server.start(timeout=300)
    return server


def _wrk(url: str, script: str, duration: int) -> list[str]:
    return ["wrk", "-t1", "-c1", f"-d{duration}s", "--latency", "-s", str(HERE / script), url]


def _parsed(out: str) -> dict[str, Any]:
    found = parse_wrk(out)
    found.pop("wrk_output", None)
    return found


def wrk_one_connection(url: str, script: str, duration: int, env: dict[str, str]) -> dict[str, Any]:
    """``wrk -t1 -c1`` on ``url`` for ``duration`` s with the Lua ``script`` beside this file
    and its environment ``env``: the parsed result, without wrk's own output."""
    done = subprocess.run(
        _wrk(url, script, duration),
        env=dict(os.environ, **env), capture_output=True, text=True, check=True,
    )  # fmt: skip
    return _parsed(done.stdout)


def beside_traffic(url: str, warm_up: int, measure: Callable[[], Any]) -> dict[str, Any]:
    """``measure()`` beside ``wrk -t1 -c1`` predictions on ``url`` from 50,000 random units,
    started ``warm_up`` seconds before it and stopped after it: its result and wrk's."""
    traffic = subprocess.Popen(
        _wrk(url, "units.lua", 3600),
        env=dict(os.environ, UNITS="50000"), stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        time.sleep(warm_up)
        found = measure()
    finally:
        traffic.send_signal(signal.SIGINT)  # wrk stops and prints what it measured
        out, _ = traffic.communicate(timeout=60)
    return {"measured": found, "traffic": _parsed(out)}


def write_result(found: dict[str, Any], args: argparse.Namespace) -> None:
    """``found``, with the database and the time, into ``--out`` and on stdout."""
    found["database"] = "postgresql" if args.database else "sqlite"
    found["when"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(found, indent=2) + "\n")
    print(json.dumps(found, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_database_arguments(parser)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--traffic", type=int, help="seconds of predictions before the loads")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the server")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "experiment_page.json")
    args = parser.parse_args()
    settings = dict(item.split("=", 1) for item in args.env)
    server = started_server(parser, args, settings)
    try:
        if args.traffic is None:
            found = time_page(server.url, args.repeat)
        else:
            predict = f"{server.url}/v1/endpoints/{ENDPOINT}/predict"
            both = beside_traffic(predict, args.traffic, lambda: time_page(server.url, args.repeat))
            found = {**both["measured"], "traffic": both["traffic"], "warm_up": args.traffic}
    finally:
        server.stop()
    found["settings"] = settings
    found["workers"] = args.workers
    write_result(found, args)


if __name__ == "__main__":
    main()
