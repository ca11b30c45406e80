"""champion predict: call a running server."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from champion.cli.common import console
from champion.errors import InvalidInput

if TYPE_CHECKING:
    from champion.answers import PredictAnswer, RankAnswer

# The client (httpx) is imported by the command, when it runs.

__all__ = ["predict"]

DEFAULT_URL = "http://127.0.0.1:8000"
"""``champion.client.DEFAULT_URL``, shown by --help without importing the client
(tests/cli/test_defaults.py keeps the two equal)."""


def predict(
    endpoint: str,
    instances: Annotated[
        str | None, typer.Option(help="JSON list of instances (or one object), or @file.json.")
    ] = None,
    unit: Annotated[str | None, typer.Option(help="Unit id (user, session).")] = None,
    rank: Annotated[bool, typer.Option("--rank", help="Ask a ranker for k items.")] = False,
    k: Annotated[int, typer.Option(help="Items to rank.")] = 10,
    url: Annotated[str, typer.Option(envvar="CHAMPION_URL", help="Server address.")] = DEFAULT_URL,
) -> None:
    """Send one request to ENDPOINT on a running server and print the answer.

    The token, if the server needs one, comes from CHAMPION_TOKEN.
    """
    from champion.client import Client

    # Read before connecting: a missing file is the same error whether the server is up or not.
    if not rank and instances is None:
        raise InvalidInput("--instances is required (a JSON list, an object, or @file).")
    loaded = _load(instances) if instances is not None else None
    answer: PredictAnswer | RankAnswer
    with Client(url) as client:
        try:
            if rank:
                answer = client.rank(endpoint, unit=unit, k=k, context=loaded or {})
            else:
                rows: list[Any] = loaded if isinstance(loaded, list) else [loaded]
                answer = client.predict(endpoint, rows, unit=unit)
        except InvalidInput as exc:
            raise _with_cli_fix(exc, endpoint, rank) from None
    console.print_json(answer.model_dump_json())


def _load(text: str) -> Any:
    if text.startswith("@"):
        try:
            raw = Path(text[1:]).read_bytes()
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise InvalidInput(
                f"--instances {text!r}: cannot read {text[1:]!r} ({reason})."
            ) from None
    else:
        raw = text.encode()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"--instances is not valid JSON: {exc}") from None


def _with_cli_fix(error: InvalidInput, endpoint: str, rank: bool) -> InvalidInput:
    # The server names the route to call instead; on the command line the fix is a flag.
    head, _, route = error.message.partition(": call /v1/endpoints/")
    if not route:
        return error
    if rank:
        fix = f"drop --rank and give --instances: champion predict {endpoint} --instances ROWS"
    else:
        fix = f"add --rank: champion predict {endpoint} --rank [--unit UNIT] [--k K]"
    return InvalidInput(f"{head}: {fix}.")
