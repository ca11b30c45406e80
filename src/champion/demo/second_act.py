"""The demo's second act: a two-stage recommender served as a pipeline endpoint.

1. ``recs-pipeline`` chains two stages: ``retrieve`` (retrieve/1: each user's 200 best movies
   by the first act's item-kNN fit) and ``rerank``, which reads the retrieval stage's items
   and scores and returns the 10 best: rerank/1 is a logistic regression over the
   candidates' mean rating alone, the best-rated first (``demo.rerankers``).
2. rerank/2, which learned the users' own taste as well, goes out by interleaving on the
   ``rerank`` stage only: retrieval is unchanged, both re-rankers rank the same candidates,
   and team-draft merges their lists. An experiment as in the first act (a t-test over users,
   each counting once) runs while every test user visits ``SESSIONS`` times, their clicks
   going back as feedback; the server's controller promotes the re-ranker users prefer, on
   that stage alone.
3. Some users visit again, served by the winner.
4. Per stage, from the server's records: each version's latency p50/p99, fallbacks and
   failures, and which stage moved first over the act's windows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from rich.console import Console
from rich.table import Table

from champion.demo import rollout
from champion.demo.browsing import browse
from champion.demo.movielens import MovieLensSplit
from champion.demo.rankers import CANDIDATES, ItemKnn, retrieval_lists, write_retrieval_ranker
from champion.demo.rerankers import write_rerankers
from champion.services import Services

__all__ = [
    "ENDPOINT",
    "REGISTERED",
    "SESSIONS",
    "SecondAct",
    "register_second_act",
    "run_second_act",
    "stage_tables",
    "train_second_act",
]

ENDPOINT = "recs-pipeline"
SESSIONS = 2
"""Visits per test user while the re-rankers are interleaved. Replaying the experiment with
fresh clicks and coins (``benchmarks/demo_interleaving.py --act 2``), the t-test over the
520 users promoted the taste re-ranker in all of 600 replays at 2 visits (t 4.76, sd 0.71:
a miss about 1 in 25,000 by the normal approximation) and in 99 of 100 at 1 visit."""
STAGES: dict[str, Any] = {
    "stages": [
        {"name": "retrieve", "model": "retrieve@champion", "k": CANDIDATES},
        {
            "name": "rerank",
            "model": "rerank@champion",
            "inputs": {"candidates": "retrieve.items", "scores": "retrieve.scores"},
        },
    ]
}


def train_second_act(
    split: MovieLensSplit, knn: ItemKnn, folder: Path, code_version: str
) -> dict[str, Path]:
    """The retrieval ranker (from ``knn``, item-kNN on ``split.train``) and the re-rankers."""
    lists = retrieval_lists(split, knn)
    retrieve = write_retrieval_ranker(split, folder / "retrieve-item-knn", code_version, lists)
    return {"retrieve": retrieve, **write_rerankers(split, lists, folder, code_version)}


REGISTERED = (
    ("retrieve", "retrieve", "champion", "candidates for a re-ranker: item-kNN, 200 a user"),
    ("rating", "rerank", "champion", "first re-ranker: the best-rated candidates first"),
    ("taste", "rerank", "challenger", "learns each user's taste too; better offline"),
)
"""What the act registers: the folder (by ``train_second_act``'s name), model, alias, why."""


def register_second_act(services: Services, folders: dict[str, Path]) -> None:
    for folder, model, alias, reason in REGISTERED:
        services.registry.register(
            folders[folder], model=model, actor="demo", aliases_to_set=(alias,), reason=reason
        )


@dataclass(frozen=True)
class SecondAct:
    """What the act did: when it began, the controller's verdict and the decided report."""

    began: datetime
    verdict: str
    decided: dict[str, Any]


def run_second_act(
    client: httpx.Client,
    console: Console,
    some: list[str],
    everyone: list[str],
    truth: dict[str, set[str]],
    rng: np.random.Generator,
) -> SecondAct:
    """Serve the pipeline endpoint, interleave the re-rankers on its last stage, let the
    controller decide."""
    console.rule("Second act: a two-stage recommender")
    began = datetime.now(UTC)
    client.put(
        f"/v1/endpoints/{ENDPOINT}",
        json={"policy": "stages", "params": STAGES, "reason": "retrieve, then re-rank"},
    ).raise_for_status()
    console.print(
        f"Endpoint [bold]{ENDPOINT}[/bold] runs two stages: retrieve (retrieve/1, item-kNN, "
        f"{CANDIDATES} candidates a user) then rerank (rerank/1 re-ranks them, 10 shown)."
    )
    interleaved = dict(STAGES["stages"][1])
    del interleaved["model"]
    interleaved |= {
        "policy": "interleave",
        "params": {
            "champion": "rerank@champion",
            "challenger": "rerank@challenger",
            "method": "team_draft",
        },
    }
    client.put(
        f"/v1/endpoints/{ENDPOINT}",
        json={
            "policy": "stages",
            "params": {"stages": [STAGES["stages"][0], interleaved]},
            "reason": "interleave the re-rankers; retrieval unchanged",
        },
    ).raise_for_status()
    console.print(
        "rerank/2 goes out by interleaving on the rerank stage only: both re-rankers order "
        "the same candidates, and each click credits the one that placed the movie."
    )
    rollout.start_interleaving_experiment(client, console, len(everyone), ENDPOINT)
    browse(
        client,
        console,
        ENDPOINT,
        everyone * SESSIONS,
        truth,
        rng,
        f"{ENDPOINT} (rerank/1 and rerank/2 interleaved)",
    )
    rollout.await_events_written(client)
    rollout.let_the_controller_decide(client, console, len(everyone), ENDPOINT)
    decided = rollout.await_decision(client, ENDPOINT)
    console.print(f"The controller: {decided['decision']['reason']}")
    verdict = rollout.verdict_line(decided)
    console.print(verdict)
    winner = "rerank/2" if decided["status"] == "promoted" else "rerank/1"
    browse(client, console, ENDPOINT, some, truth, rng, f"{ENDPOINT} ({winner} re-ranks)")
    rollout.await_events_written(client)
    return SecondAct(began, verdict, decided)


def stage_tables(client: httpx.Client, act: SecondAct) -> tuple[Table, str]:
    """Per stage (the endpoint is the act's own): each version's latency and fallbacks, the
    stage's failures; and a line saying which stage moved first over the act's windows."""
    stats = client.get(f"/v1/endpoints/{ENDPOINT}/stages").json()
    table = Table(
        "stage",
        "version",
        "arm",
        "requests",
        "p50 ms",
        "p99 ms",
        "fallbacks",
        "failures",
        title=f"{ENDPOINT}: each stage (second act)",
    )
    for stage in stats["stages"]:
        # Calls that raised or timed out, and requests that failed at the stage.
        failed = sum(f["count"] for f in stage["failures"]) + sum(stage["errors"].values())
        for row in stage["versions"]:
            if not row["requests"]:
                continue  # credited with items under interleaving, answered no request
            table.add_row(
                stage["stage"],
                f"{row['model']}/{row['version']}",
                row["arm"],
                str(row["requests"]),
                _ms(row["latency_p50_ms"]),
                _ms(row["latency_p99_ms"]),
                str(row["fallbacks"]),
                str(failed),
            )
    return table, _moved_first(client, act)


def _moved_first(client: httpx.Client, act: SecondAct) -> str:
    # Windows small enough to tell the act's steps apart: about 20 over the act.
    elapsed = (datetime.now(UTC) - act.began).total_seconds()
    width = max(1, math.ceil(elapsed / 20))
    buckets = min(96, math.ceil(elapsed / width) + 1)
    moves = client.get(
        f"/v1/endpoints/{ENDPOINT}/drift/stages",
        params={"window": f"{width}s", "buckets": buckets},
    ).json()
    parts = []
    for stage in moves["stages"]:
        if stage["first_alarm"]:
            what = f"drifted at {_clock(stage['first_alarm'])} ({', '.join(stage['drifted'])})"
        elif stage["began"]:
            began = stage["began"][0]
            what = f"{began['version']} began to answer at {_clock(began['at'])}"
        else:
            what = "no drift alarm, no new version"
        parts.append(f"{stage['stage']}: {what}")
    first = moves["moved_first"]
    return f"Per-stage drift over {buckets} windows of {width} s: {'; '.join(parts)}. " + (
        f"Moved first: {first}." if first else "No stage moved."
    )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _clock(at: str) -> str:
    return f"{datetime.fromisoformat(at):%H:%M:%S}"
