"""Adaptive batching: concurrent predictions to one version answered by one model call.

A model call has a fixed cost besides its rows (scikit-learn checks its input, a pipeline
walks its steps): 0.1-20 ms that one-row requests each pay in full. With batching on for an
endpoint, requests to the same version that arrive within ``max_batch_wait_ms`` of the first
(or until ``max_batch_size`` rows wait) become one call; each request gets its own rows of
the answer back and is logged and timed as its own. Off by default: a lone request then
waits for nobody.

Each request's rows are checked against the signature before they join a batch, so a bad
row is refused with its own request and never fails the others. A batch the model fails
(an exception, a timeout, an answer with the wrong number of rows) fails every request in
it, as the same call would have failed each of them alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from champion.errors import ModelFailed
from champion.registry.signature import MAX_INSTANCES
from champion.types import Json
from champion.validation import invalid_input

__all__ = ["Batcher", "Batching", "batching_of"]

MAX_BATCH_WAIT_MS = 1000.0


class Batching(BaseModel):
    """An endpoint's batching settings (``batching`` in its configuration).

    Examples
    --------
    >>> Batching(max_batch_size=32, max_batch_wait_ms=2)
    Batching(max_batch_size=32, max_batch_wait_ms=2.0)
    >>> batching_of({"max_batch_size": 0, "max_batch_wait_ms": 2})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    champion.errors.InvalidInput: batching.max_batch_size: Input should be greater than or ...
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    max_batch_size: int = Field(
        ge=1,
        le=MAX_INSTANCES,
        strict=True,
        description="Rows gathered into one model call at most; a batch this full goes at once.",
    )
    max_batch_wait_ms: float = Field(
        ge=0,
        le=MAX_BATCH_WAIT_MS,
        description="How long the first request of a batch waits for others, in ms.",
    )


def batching_of(value: Any) -> Batching | None:
    """``value`` (a mapping, a Batching or None) as Batching; InvalidInput naming the field."""
    if value is None or isinstance(value, Batching):
        return value
    try:
        return Batching.model_validate(value)
    except ValidationError as exc:
        raise invalid_input(exc, "batching") from None


Call = Callable[[list[dict[str, Any]]], Awaitable[list[Json]]]
_Waiting = tuple[list[dict[str, Any]], "asyncio.Future[list[Json]]"]


class Batcher:
    """Gathers the rows of concurrent requests to one version and calls ``call`` once.

    ``call`` runs a model call (with the version calls' timeout, placement and failure counts)
    and returns one output per row. Lives on one event loop.
    """

    def __init__(self, batching: Batching, call: Call) -> None:
        self.batching = batching
        self.call = call
        self._waiting: list[_Waiting] = []
        self._rows = 0
        self._timer: asyncio.TimerHandle | None = None
        self._running: set[asyncio.Task[None]] = set()

    async def predict(self, rows: list[dict[str, Any]]) -> list[Json]:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[list[Json]] = loop.create_future()
        self._waiting.append((rows, answer))
        self._rows += len(rows)
        if self._rows >= self.batching.max_batch_size:
            self._send()
        elif self._timer is None:
            self._timer = loop.call_later(self.batching.max_batch_wait_ms / 1000.0, self._send)
        return await answer

    def _send(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._waiting, self._rows = self._waiting, [], 0
        if batch:
            task = asyncio.ensure_future(self._answer(batch))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _answer(self, batch: list[_Waiting]) -> None:
        rows = [row for request_rows, _ in batch for row in request_rows]
        try:
            outputs = await self.call(rows)
            if len(outputs) != len(rows):
                raise ModelFailed(
                    f"The model answered {len(outputs)} rows for a batch of {len(rows)}."
                )
        except BaseException as exc:  # every request of the batch hears of it
            for _, answer in batch:
                if not answer.done():
                    answer.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        start = 0
        for request_rows, answer in batch:
            end = start + len(request_rows)
            if not answer.done():  # a request cancelled meanwhile wants nothing
                answer.set_result(outputs[start:end])
            start = end

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        for task in list(self._running):
            task.cancel()
