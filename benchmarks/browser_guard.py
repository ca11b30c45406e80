"""What the browser guard costs per request on an open server, the case where it works.

    .venv/bin/python benchmarks/browser_guard.py

Times, in-process (best of 5 rounds), a predict-shaped request (Host, JSON content type,
Content-Length, User-Agent, Accept) through ``BrowserGuard`` around an ASGI app that answers
at once, against the same app called directly: the difference is the guard's whole cost (the
Host check, the write check and the header it adds to the answer).
"""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from champion.api.browser import BrowserGuard

ROUNDS, CALLS = 5, 50_000
HEADERS = [
    (b"host", b"127.0.0.1:8000"),
    (b"user-agent", b"wrk"),
    (b"accept", b"*/*"),
    (b"content-type", b"application/json"),
    (b"content-length", b"512"),
]
START: Message = {"type": "http.response.start", "status": 200, "headers": []}


async def answer(scope: Scope, receive: Receive, send: Send) -> None:
    await send(START)


async def receive() -> Message:
    return {"type": "http.request", "body": b""}


async def send(message: Message) -> None:
    pass


async def best(app: Any, scope: Scope) -> float:
    rounds = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(CALLS):
            await app(scope, receive, send)
        rounds.append((time.perf_counter() - started) / CALLS)
    return min(rounds)


def main() -> None:
    # What the guard reads from the running server: whether the keyring is empty.
    state = SimpleNamespace(keyring=SimpleNamespace(empty=True))
    server = SimpleNamespace(state=SimpleNamespace(champion=state))
    scope: Scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/endpoints/churn/predict",
        "headers": HEADERS,
        "app": server,
    }
    guarded = BrowserGuard(answer, open_when_empty=True)
    bare = asyncio.run(best(answer, scope))
    with_guard = asyncio.run(best(guarded, scope))
    print(f"app alone            {bare * 1e6:6.2f} µs per request")
    print(f"app behind the guard {with_guard * 1e6:6.2f} µs per request")
    print(f"the guard's cost     {(with_guard - bare) * 1e6:6.2f} µs per request")


if __name__ == "__main__":
    main()
