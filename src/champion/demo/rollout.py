"""The demo's rollout story: the server's controller decides, the demo only watches.

1. The interleaving experiment between the recommenders runs under an experiment; once every
   planned user has visited, its automation turns to ``auto`` and the controller promotes the
   ranker users prefer (``recs@champion`` moves; the previous champion stays loaded).
2. A broken build of the recommender goes out as a 10 % canary; its calls fail, users get the
   champion's lists instead, and the controller rolls it back at once.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import yaml
from rich.console import Console
from rich.table import Table

from champion import audit
from champion.db import read
from champion.evaluation.stattests import format_p_value
from champion.services import Services
from champion.settings import Settings

__all__ = [
    "SERVER_ENV",
    "await_decision",
    "await_events_written",
    "decisions_table",
    "experiment_report",
    "let_the_controller_decide",
    "release_broken_canary",
    "start_interleaving_experiment",
    "verdict_line",
]

SERVER_ENV = {
    "CHAMPION_CONTROLLER_INTERVAL_SECONDS": "1",
    "CHAMPION_FOLD_INTERVAL_SECONDS": "1",
    "CHAMPION_FOLD_LAG_SECONDS": "2",
}
"""The demo's server looks at experiments every second (the default is every 10 s), and
folds its events into the rollups as fast, so each look reads rollups, not raw rows: the
demo's minutes stand for weeks of traffic."""

BROKEN_SOURCE = '''"""A recommender build whose feature table went missing: every call fails."""


class BrokenRanker:
    def rank(self, unit, context, k):
        raise KeyError("user_features")
'''


def _interleaving_design(users: int, automation: str, wait_seconds: float) -> dict[str, Any]:
    # A fixed-horizon test over users, looked at once: when every planned visit was made and
    # its clicks arrived. Each user's won and lost impressions give one preference, so a user
    # who visits often counts once; with only the ~520 MovieLens test users an always-valid
    # test would rarely be sure yet.
    return {
        "goal": "interleaving",
        "method": "interleaving",
        "interleaving_test": "t",
        "min_sample": users,
        # Every user has visited once long before the planned visits are made: the one test
        # waits for the plan (a day), and the demo ends the wait when the visits are done.
        "horizon_wait_seconds": wait_seconds,
        "automation": automation,
    }


def start_interleaving_experiment(
    client: httpx.Client, console: Console, users: int, endpoint: str = "recs"
) -> None:
    """Attach an experiment to the interleaving; the controller only reports for now."""
    design = _interleaving_design(users, "manual", 86400) | {
        "reason": "which ranker do users prefer?"
    }
    client.put(f"/v1/endpoints/{endpoint}/experiment", json=design).raise_for_status()
    console.print(
        "An experiment watches it: goal interleaving preference, each user counting once "
        f"(a t-test of the users' preferences), decided once all {users} users have visited."
    )


def verdict_line(report: dict[str, Any]) -> str:
    """How many users the interleaving verdict needed, and what it found."""
    found = report.get("interleaving")
    if not found:
        return "The interleaving experiment saw no interleaved impressions."
    low, high = found["ci"] or (float("nan"), float("nan"))
    ahead, behind = found["units_preferring_challenger"], found["units_preferring_champion"]
    return (
        f"Interleaving verdict ({report['status']}): it needed {found['units']} users, "
        f"{found['units_tested']} of whom preferred one ranker ({ahead} {found['challenger']}, "
        f"{behind} {found['champion']}, the rest tied); "
        f"mean preference {found['preference']:+.3f} (95 % CI {low:+.3f} to {high:+.3f}), "
        f"{found['method']} p {format_p_value(found['p_value'])}."
    )


def let_the_controller_decide(
    client: httpx.Client, console: Console, users: int, endpoint: str = "recs"
) -> None:
    """Every planned user has visited: hand the decision to the controller."""
    design = _interleaving_design(users, "auto", 0) | {
        "reason": "every planned visit was made and its feedback sent: test now"
    }
    client.put(f"/v1/endpoints/{endpoint}/experiment", json=design).raise_for_status()
    console.print("Every planned user has visited: the rollout controller may act (auto).")


def experiment_report(client: httpx.Client, endpoint: str) -> dict[str, Any]:
    """The endpoint's experiment as the server reports it now."""
    response = client.get(f"/v1/endpoints/{endpoint}/experiment")
    response.raise_for_status()
    report: dict[str, Any] = response.json()
    return report


def await_events_written(client: httpx.Client, timeout: float = 30.0) -> None:
    """Until the server has stored every prediction event it answered (they are written off
    the response path), or ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get("/v1/health").json()["events"]["queued"] == 0:
            return
        time.sleep(0.1)


def await_decision(client: httpx.Client, endpoint: str, timeout: float = 30.0) -> dict[str, Any]:
    """The endpoint's experiment once the controller ended it (or at ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        report = experiment_report(client, endpoint)
        if report["status"] != "running" or time.monotonic() > deadline:
            return report
        time.sleep(0.5)


def release_broken_canary(
    client: httpx.Client, home: Path, console: Console, champion: str
) -> None:
    """Register a broken build of ``recs`` and send it 10 % of users behind an experiment."""
    folder = home / "training" / "recs-broken"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "broken.py").write_text(BROKEN_SOURCE)
    manifest = {
        "kind": "ranker",
        "flavor": "python",
        "class": "broken:BrokenRanker",
        "lineage": {
            "trained_by": "champion-demo",
            "description": "recommender build 3 (broken: its feature table is missing)",
        },
    }
    (folder / "champion.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    services = Services.open(Settings(home=home))
    try:
        number = services.registry.register(
            folder, model="recs", actor="demo", reason="a new build to try on a few users"
        ).number
    finally:
        services.close()
    params = {"champion": "recs@champion", "challenger": f"recs/{number}", "share": 0.1}
    client.put(
        "/v1/endpoints/recs",
        json={"policy": "canary", "params": params, "reason": "canary of build 3"},
    ).raise_for_status()
    design = {
        "goal": "ctr",
        "automation": "auto",
        "spike_min_requests": 5,
        "ramp": {"steps": [0.1, 0.25, 0.5, 1.0], "min_seconds": 60, "min_units": 30},
        "reason": "ramp build 3 if it holds up",
    }
    client.put("/v1/endpoints/recs/experiment", json=design).raise_for_status()
    console.print(
        f"recs/{number} goes out as a 10 % canary beside {champion} (ramp 10 → 25 → 50 → "
        "100 %, guardrails: error rate and latency)."
    )


def decisions_table(home: Path, endpoint: str) -> Table:
    """What the controller did on ``endpoint``, from the audit log: who, when, what and why."""
    services = Services.open(Settings(home=home))
    try:
        with read(services.engine) as conn:
            records = audit.list_audit(conn, target=endpoint, limit=500)
    finally:
        services.close()
    table = Table("when", "who", "action", "why", title=f"{endpoint}: what the controller did")
    for record in reversed(records):
        if record.action in {"experiment.promote", "experiment.rollback", "experiment.ramp"}:
            table.add_row(
                f"{record.at:%H:%M:%S}",
                record.actor,
                record.action.removeprefix("experiment."),
                record.reason.split(" [controller")[0],
            )
    return table
