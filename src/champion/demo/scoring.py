"""Customers scored over HTTP, one predict call each, their true outcomes sent back as labels.

A few calls are in flight at once, as a service scoring its customers would send them: one
at a time, each call would wait out the server's work for the calls before it (a shadow's,
the event writer's) that a concurrent caller overlaps.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

import httpx
from rich.console import Console
from rich.progress import Progress

__all__ = ["IN_FLIGHT", "Customer", "score_and_label"]

IN_FLIGHT = 4
"""Predict calls in flight at once."""


class Customer(NamedTuple):
    unit: str
    row: dict[str, Any]
    churned: int
    event_id: str | None = None
    """Set when a rerun must not label the same customer twice."""


def score_and_label(
    client: httpx.Client,
    console: Console,
    customers: Sequence[Customer],
    *,
    title: str,
    labels_every: int,
    keep_going: Callable[[], bool] | None = None,
) -> int:
    """Score each customer through the attrition endpoint and send the outcomes as labels,
    ``labels_every`` at a time; after each batch, stop if ``keep_going()`` is false. Returns
    how many customers were scored."""
    scored = 0

    def score(customer: Customer) -> dict[str, Any]:
        response = client.post(
            "/v1/endpoints/attrition/predict",
            json={"unit": customer.unit, "instances": [customer.row]},
        )
        response.raise_for_status()
        request_id = response.json()["request_id"]
        label: dict[str, Any] = {
            "request_id": request_id,
            "kind": "label",
            "label": customer.churned,
        }
        if customer.event_id is not None:
            label["event_id"] = customer.event_id
        return label

    with (
        Progress(console=console, transient=True) as progress,
        ThreadPoolExecutor(IN_FLIGHT, thread_name_prefix="demo-scoring") as calls,
    ):
        task = progress.add_task(title, total=len(customers))
        for start in range(0, len(customers), labels_every):
            labels = []
            for label in calls.map(score, customers[start : start + labels_every]):
                labels.append(label)
                scored += 1
                progress.advance(task)
            _send(client, labels)
            if keep_going is not None and not keep_going():
                break
    return scored


def _send(client: httpx.Client, labels: list[dict[str, Any]]) -> None:
    if labels:
        client.post("/v1/feedback/batch", json={"events": labels}).raise_for_status()
