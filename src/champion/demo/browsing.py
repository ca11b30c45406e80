"""Simulated users browsing a ranking endpoint over HTTP; their clicks go back as feedback."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
from rich.console import Console
from rich.progress import Progress

from champion.demo.users import react

__all__ = ["browse"]

FEEDBACK_BATCH = 1000


def browse(
    client: httpx.Client,
    console: Console,
    endpoint: str,
    users: list[str],
    truth: dict[str, set[str]],
    rng: np.random.Generator,
    label: str,
) -> list[dict[str, Any]]:
    """Each of ``users`` (repeated for repeated visits) asks ``endpoint`` for 10 movies and
    reacts (``demo.users``); the answers, in order."""
    feedback: list[dict[str, Any]] = []
    answers: list[dict[str, Any]] = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"Users browsing {label}", total=len(users))
        for user in users:
            response = client.post(f"/v1/endpoints/{endpoint}/rank", json={"unit": user, "k": 10})
            response.raise_for_status()
            answer = response.json()
            answers.append(answer)
            shown = [str(item["item"]) for item in answer["items"]]
            for reaction in react(shown, truth[user], rng):
                feedback.append(
                    {
                        "request_id": answer["request_id"],
                        "kind": reaction.kind,
                        "item": reaction.item,
                        "value": reaction.value,
                    }
                )
            progress.advance(task)
    for start in range(0, len(feedback), FEEDBACK_BATCH):
        client.post(
            "/v1/feedback/batch", json={"events": feedback[start : start + FEEDBACK_BATCH]}
        ).raise_for_status()
    console.print(
        f"{len(set(users))} users made {len(users)} visits to {label}; "
        f"{len(feedback)} feedback events sent."
    )
    return answers
