"""champion predict: call a running server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import httpx
import orjson
import typer

from champion.cli.common import console
from champion.errors import ChampionError, InvalidInput, Unavailable, error_class

__all__ = ["predict"]


def predict(
    endpoint: str,
    instances: Annotated[
        str | None, typer.Option(help="JSON list of instances (or one object), or @file.json.")
    ] = None,
    unit: Annotated[str | None, typer.Option(help="Unit id (user, session).")] = None,
    rank: Annotated[bool, typer.Option("--rank", help="Ask a ranker for k items.")] = False,
    k: Annotated[int, typer.Option(help="Items to rank.")] = 10,
    url: Annotated[
        str, typer.Option(envvar="CHAMPION_URL", help="Server address.")
    ] = "http://127.0.0.1:8000",
) -> None:
    """Send one request to ENDPOINT on a running server and print the answer."""
    body: dict[str, Any] = {"unit": unit} if unit else {}
    if rank:
        body |= {"k": k, "context": _load(instances) if instances else {}}
        path = f"/v1/endpoints/{endpoint}/rank"
    else:
        if instances is None:
            raise InvalidInput("--instances is required (a JSON list, an object, or @file).")
        loaded = _load(instances)
        body["instances"] = loaded if isinstance(loaded, list) else [loaded]
        path = f"/v1/endpoints/{endpoint}/predict"
    try:
        response = httpx.post(url.rstrip("/") + path, json=body, timeout=30)
    except httpx.HTTPError as exc:
        raise Unavailable(
            f"Cannot reach the server at {url}: {exc}. Start it with 'champion server'."
        ) from None
    if response.is_error:
        raise _error(response)
    console.print_json(response.text)


def _load(text: str) -> Any:
    raw = Path(text[1:]).read_bytes() if text.startswith("@") else text.encode()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"--instances is not valid JSON: {exc}") from None


def _error(response: httpx.Response) -> ChampionError:
    try:
        error = response.json()["error"]
        return error_class(error["code"])(error["message"])
    except (ValueError, KeyError, TypeError):
        return ChampionError(f"HTTP {response.status_code}: {response.text[:200]}")
