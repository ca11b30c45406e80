"""Where a prediction's time goes, in process: no sockets, no load generator.

The ASGI app is called directly on uvloop, one request at a time, with the serving
benchmark's model and body (benchmarks/make_model.py). Four layers are timed, alternating
blocks of calls so a loaded host slows each alike:

- ``app``: champion's whole app (middleware, routing, validation, serving, event, metrics);
- ``service``: ``ServingService.predict`` alone (routing, model call, event, metrics);
- ``model``: the loaded version's ``predict`` on checked rows;
- ``bare_async``: the async def FastAPI peer (bare_fastapi_async.py), whole app.

``app - model`` is champion's own cost per request; ``bare_async - model`` FastAPI's least.
Then 32 callers at once (``--concurrency``) through each whole app: the process's CPU time
per request (every thread: the event writer's inserts count), which a busy host inflates far
less than it does wall time. With ``--layers``, the event loop thread's CPU time per request
under those callers from each of champion's middlewares inwards (``full`` is the whole app,
``ServeLane`` the lane alone, ``service`` ``ServingService.predict``): the difference between
two rows is one layer's cost. With ``--profile``, cProfile's top functions of the app's calls
(by own time) follow.

Each caller returns to the event loop after every call, as a server's requests do: an app
called back to back never yields (nothing in it waits), so the callbacks it schedules (the
prediction event's) would pile up until the caller ends.
Run against any checkout: ``PYTHONPATH=src .venv/bin/python benchmarks/hot_path.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import uvloop

HERE = Path(__file__).parent
BUILD = HERE / "build"
sys.path.insert(0, str(HERE))


async def call(app: Any, path: str, body: bytes) -> None:
    sent: list[dict[str, Any]] = []
    received = False

    async def receive() -> dict[str, Any]:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(b"host", b"127.0.0.1:8000"), (b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode())]  # fmt: skip
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8000), "state": {}}  # fmt: skip
    await app(scope, receive, send)
    if sent[0]["status"] != 200:
        raise RuntimeError(f"{path} answered {sent}")


async def start_lifespan(app: Any) -> None:
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    asyncio.get_running_loop().create_task(app(scope, inbox.get, outbox.put))
    message = await outbox.get()
    if message["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"the app did not start: {message}")


async def started_app(prefix: str) -> Any:
    """champion's app on a fresh SQLite home, serving the benchmark model at endpoint
    ``bench`` (the single policy on ``bench@champion``), its lifespan started."""
    from champion.api import create_app
    from champion.services import Services
    from champion.settings import Settings

    settings = Settings(home=Path(tempfile.mkdtemp(prefix=prefix)))
    services = Services.open(settings)
    services.registry.register(
        BUILD / "champion_model", model="bench", actor="bench", aliases_to_set=("champion",)
    )
    services.endpoints.set("bench", "single", {"version": "bench@champion"}, actor="bench")
    services.close()
    app = create_app(settings)
    await start_lifespan(app)
    return app


async def cpu_per_request(
    layer: Callable[[], Awaitable[Any]], calls: int, concurrency: int, *, loop_only: bool = False
) -> float:
    """CPU time per request with ``concurrency`` callers: the process's (every thread: the
    event writer's inserts count), or with ``loop_only`` the event loop thread's alone."""

    async def caller() -> None:
        for _ in range(calls // concurrency):
            await layer()
            await asyncio.sleep(0)

    clock = time.thread_time if loop_only else time.process_time
    started = clock()
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    if not loop_only:
        await asyncio.sleep(0.5)  # the event writer's next flush: its inserts count too
    return round((clock() - started) / (calls // concurrency * concurrency) * 1e6, 1)


class _WithApp:
    """An inner middleware called as the whole app is: the guards find the app in the scope."""

    def __init__(self, inner: Any, app: Any) -> None:
        self.inner, self.app = inner, app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        scope["app"] = self.app
        await self.inner(scope, receive, send)


async def layer_costs(
    app: Any, body: bytes, calls: int, blocks: int, concurrency: int
) -> dict[str, float]:
    """Median over ``blocks`` of the loop thread's CPU per request from each middleware in."""
    path = "/v1/endpoints/bench/predict"
    layers: dict[str, Callable[[], Awaitable[Any]]] = {"full": lambda: call(app, path, body)}
    node = app.middleware_stack.app  # inside Starlette's ServerErrorMiddleware
    while node is not None and type(node).__name__ != "ExceptionMiddleware":
        inner = _WithApp(node, app)
        layers[type(node).__name__] = lambda inner=inner: call(inner, path, body)
        node = getattr(node, "app", None)
    instances = orjson.loads(body)["instances"]
    serving = app.state.champion.serving
    layers["service"] = lambda: serving.predict("bench", None, instances)
    found: dict[str, list[float]] = {name: [] for name in layers}
    for _ in range(blocks):
        for name, layer in layers.items():
            found[name].append(await cpu_per_request(layer, calls, concurrency, loop_only=True))
    return {name: sorted(values)[len(values) // 2] for name, values in found.items()}


async def measure(
    calls: int, blocks: int, profile: bool, concurrency: int, layers_too: bool
) -> dict[str, Any]:
    from bare_fastapi_async import app as bare_app

    app = await started_app("champion-hot-path-")
    body = (BUILD / "payload_champion.json").read_bytes()
    bare_body = (BUILD / "payload_bare.json").read_bytes()
    instances = orjson.loads(body)["instances"]
    serving = app.state.champion.serving
    path = "/v1/endpoints/bench/predict"
    layers: dict[str, Callable[[], Awaitable[Any]]] = {
        "app": lambda: call(app, path, body),
        "service": lambda: serving.predict("bench", "u1", instances),
        "bare_async": lambda: call(bare_app, "/predict", bare_body),
    }
    for _ in range(300):  # warm: placement's warm-up calls, caches
        for layer in layers.values():
            await layer()
    loaded = next(iter(serving.status()["bench"].loaded.values()))
    rows = loaded.check_inputs(instances)

    async def model() -> None:
        loaded.model.predict(rows)

    layers["model"] = model
    times: dict[str, list[float]] = {name: [] for name in layers}
    for _ in range(blocks):
        for name, layer in layers.items():
            for _ in range(calls // blocks):
                started = time.perf_counter()
                await layer()
                times[name].append(time.perf_counter() - started)
    result: dict[str, Any] = {}
    for name, seconds in times.items():
        seconds.sort()
        result[name] = {
            f"p{q}_us": round(seconds[int(len(seconds) * q / 100)] * 1e6, 1) for q in (10, 50, 90)
        }
    for name in ("app", "bare_async"):
        result[name]["cpu_us_per_request_concurrent"] = await cpu_per_request(
            layers[name], calls, concurrency
        )
    if layers_too:
        result["loop_cpu_us_per_request_from_each_layer"] = await layer_costs(
            app, body, calls, 5, concurrency
        )
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(calls):
            await call(app, path, body)
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
        result["profile"] = out.getvalue()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000, help="calls per layer")
    parser.add_argument("--blocks", type=int, default=10, help="alternations of the layers")
    parser.add_argument("--concurrency", type=int, default=32, help="callers at once")
    parser.add_argument("--layers", action="store_true", help="time each middleware inwards")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions")
    args = parser.parse_args()
    if not (BUILD / "champion_model").exists():
        subprocess.run([sys.executable, str(HERE / "make_model.py"), "--no-mlflow"], check=True)
    result = uvloop.run(
        measure(args.calls, args.blocks, args.profile, args.concurrency, args.layers)
    )
    profile = result.pop("profile", None)
    result["load_average"] = os.getloadavg()
    print(json.dumps(result, indent=2))
    if profile:
        print(profile)
    sys.stdout.flush()
    os._exit(0)  # the app's writer and loops are threads of this process: no need to wait


if __name__ == "__main__":
    main()
