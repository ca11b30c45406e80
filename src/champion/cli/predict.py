"""champion predict: call a running server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from champion.cli.common import console
from champion.client import DEFAULT_URL, Client
from champion.errors import InvalidInput

__all__ = ["predict"]


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
    with Client(url) as client:
        if rank:
            answer = client.rank(
                endpoint, unit=unit, k=k, context=_load(instances) if instances else {}
            )
        else:
            if instances is None:
                raise InvalidInput("--instances is required (a JSON list, an object, or @file).")
            loaded = _load(instances)
            rows = loaded if isinstance(loaded, list) else [loaded]
            answer = client.predict(endpoint, rows, unit=unit)
    console.print_json(orjson.dumps(answer).decode())


def _load(text: str) -> Any:
    raw = Path(text[1:]).read_bytes() if text.startswith("@") else text.encode()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"--instances is not valid JSON: {exc}") from None
