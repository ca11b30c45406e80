"""Customers scored over HTTP, one predict call each, their true outcomes sent back as labels."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import httpx
from rich.console import Console
from rich.progress import Progress

__all__ = ["Customer", "score_and_label"]


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
    labels: list[dict[str, Any]] = []
    scored = 0
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(title, total=len(customers))
        for customer in customers:
            response = client.post(
                "/v1/endpoints/attrition/predict",
                json={"unit": customer.unit, "instances": [customer.row]},
            )
            response.raise_for_status()
            label = {
                "request_id": response.json()["request_id"],
                "kind": "label",
                "label": customer.churned,
            }
            if customer.event_id is not None:
                label["event_id"] = customer.event_id
            labels.append(label)
            scored += 1
            progress.advance(task)
            if len(labels) == labels_every:
                _send(client, labels)
                labels = []
                if keep_going is not None and not keep_going():
                    break
    _send(client, labels)
    return scored


def _send(client: httpx.Client, labels: list[dict[str, Any]]) -> None:
    if labels:
        client.post("/v1/feedback/batch", json={"events": labels}).raise_for_status()
