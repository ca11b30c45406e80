"""What request ids, HTTP metrics, the access log and traces cost a prediction, in-process.

    .venv/bin/python benchmarks/observe.py              # 5 rounds of 2,000 predictions each
    .venv/bin/python benchmarks/observe.py --calls 500  # quicker, noisier

Two measurements, each the best of ``--rounds`` rounds (the host is shared: the best round is
the one least disturbed):

1. The middleware alone (``RequestObserver``) around an ASGI app that answers at once, against
   the app called directly: request id, context, metrics, with tracing off and the access log
   off (the default), with the access log on (JSON lines to /dev/null), and with tracing on
   (the OpenTelemetry SDK, a batch processor, an exporter that discards).
2. A whole ``POST /v1/endpoints/churn/predict`` through ``create_app`` (every middleware,
   FastAPI, routing policy, a python-flavor model answering a constant, the event queue),
   called as ASGI in-process, with the same three settings.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from starlette.types import Message, Receive, Scope, Send

from champion.api import create_app
from champion.api.observe import RequestObserver
from champion.metrics import Metrics
from champion.observability import JsonFormatter, Tracing
from champion.services import Services
from champion.settings import Settings

BODY = b'{"instances": [{"tenure": 3, "charges": 12.5, "contract": "Month-to-month"}]}'
HEADERS = [
    (b"host", b"127.0.0.1:8000"),
    (b"user-agent", b"wrk"),
    (b"content-type", b"application/json"),
    (b"content-length", str(len(BODY)).encode()),
    (b"x-champion-request", b"1"),
]
START: Message = {"type": "http.response.start", "status": 200, "headers": []}
MODEL = {
    "champion.yaml": (
        "kind: classifier\nflavor: python\nclass: constant:ConstantModel\n"
        "signature:\n  inputs:\n    - {name: tenure, type: integer}\n"
        "    - {name: charges, type: number, nullable: true}\n"
        "    - {name: contract, type: string}\n"
    ),
    "constant.py": (
        "class ConstantModel:\n"
        "    pure_compute = True\n"
        "    def load(self, path):\n        self.score = 0.25\n"
        "    def predict(self, instances):\n"
        "        return [{'score': self.score} for _ in instances]\n"
    ),
}


class _Route:
    path = "/v1/endpoints/{endpoint}/predict"


ROUTE = _Route()


class _Discard(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def _tracing() -> Tracing:
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(_Discard()))
    return Tracing(provider)


def _scope(app: Any) -> Scope:
    return {
        "type": "http",
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/endpoints/churn/predict",
        "raw_path": b"/v1/endpoints/churn/predict",
        "root_path": "",
        "query_string": b"",
        "headers": HEADERS,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "app": app,
    }


async def _receive() -> Message:
    return {"type": "http.request", "body": BODY, "more_body": False}


async def _best(app: Any, scope_of: Any, rounds: int, calls: int) -> float:
    statuses: list[int] = []

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(calls):
            await app(scope_of(), _receive, send)
        times.append((time.perf_counter() - started) / calls)
    assert set(statuses) == {200}, set(statuses)
    return min(times)


async def _answer(scope: Scope, receive: Receive, send: Send) -> None:
    scope["route"] = ROUTE  # as the router does
    await send(START)


def _access_log() -> logging.Handler:
    handler = logging.FileHandler(os.devnull)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("champion.access")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return handler


def middleware(rounds: int, calls: int) -> dict[str, float]:
    handler = _access_log()
    scope = _scope(None)
    results = {"app alone": asyncio.run(_best(_answer, lambda: dict(scope), rounds, calls))}
    for name, access_log, tracing in (
        ("observer (defaults)", False, None),
        ("observer + access log", True, None),
        ("observer + tracing", False, _tracing()),
    ):
        observed = RequestObserver(
            _answer, metrics=Metrics(), access_log=access_log, tracing=tracing
        )
        results[name] = asyncio.run(_best(observed, lambda: dict(scope), rounds, calls))
    logging.getLogger("champion.access").removeHandler(handler)
    return results


async def _predict(settings: Settings, tracing: Tracing | None, rounds: int, calls: int) -> float:
    app = create_app(settings, tracing=tracing)
    async with app.router.lifespan_context(app):
        scope = _scope(app)
        return await _best(app, lambda: dict(scope), rounds, calls)


def whole_request(rounds: int, calls: int) -> dict[str, float]:
    handler = _access_log()
    results = {}
    with tempfile.TemporaryDirectory() as home:
        folder = Path(home) / "model"
        folder.mkdir()
        for name, text in MODEL.items():
            (folder / name).write_text(text)
        base = Settings(home=Path(home) / "home", scheduler=False, controller=False)
        services = Services.open(base)
        services.registry.register(
            folder, model="churn", actor="bench", aliases_to_set=("champion",)
        )
        services.endpoints.set("churn", "single", {"version": "churn@champion"}, actor="bench")
        services.close()
        for name, access_log, tracing in (
            ("predict (defaults)", False, None),
            ("predict + access log", True, None),
            ("predict + tracing", False, _tracing()),
        ):
            settings = base.model_copy(update={"access_log": access_log})
            results[name] = asyncio.run(_predict(settings, tracing, rounds, calls))
    logging.getLogger("champion.access").removeHandler(handler)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    found = middleware(args.rounds, args.calls * 10)
    found |= whole_request(args.rounds, args.calls)
    print("| what | µs per request | added µs |")
    print("| --- | ---: | ---: |")
    for name, seconds in found.items():
        base = found["app alone" if not name.startswith("predict") else "predict (defaults)"]
        added = "" if seconds is base else f"{(seconds - base) * 1e6:+.1f}"
        print(f"| {name} | {seconds * 1e6:.1f} | {added} |")


if __name__ == "__main__":
    main()
