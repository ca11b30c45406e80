"""champion endpoints set|switch|list|show|rm."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rich.table import Table
from rich.text import Text

from champion.cli.common import actor, console, open_services
from champion.cli.render import print_table
from champion.errors import InvalidInput

if TYPE_CHECKING:
    from champion.serving.endpoints import EndpointConfig

# Serving and the event log are imported by the commands that use them, when they run.

__all__ = ["endpoints_app"]

endpoints_app = typer.Typer(
    help="Configure endpoints and their routing policy.", no_args_is_help=True
)


@endpoints_app.command("set")
def set_endpoint(
    name: str,
    policy: Annotated[str, typer.Option(help="Routing policy.")] = "single",
    version: Annotated[str | None, typer.Option(help="Version for single: recs@champion.")] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(help="Policy parameter key=value (value parsed as JSON); repeatable."),
    ] = None,
    stages: Annotated[
        Path | None,
        typer.Option(
            help="A YAML or JSON file listing the stages of a pipeline endpoint (policy "
            "'stages'): name, model (or policy and params), inputs, k.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    reason: Annotated[str, typer.Option(help="Why, for the audit log.")] = "",
    max_batch_size: Annotated[
        int | None,
        typer.Option(
            help="Batch concurrent predictions: rows per model call at most "
            "(with --max-batch-wait-ms). Omitted: the endpoint keeps its batching."
        ),
    ] = None,
    max_batch_wait_ms: Annotated[
        float | None,
        typer.Option(help="How long the first request of a batch waits for others, in ms."),
    ] = None,
    no_batching: Annotated[
        bool, typer.Option("--no-batching", help="Turn batching off: each call alone.")
    ] = False,
) -> None:
    """Create or change endpoint NAME (running servers follow within a second)."""
    from champion.serving.stages import STAGES

    batching = _batching(max_batch_size, max_batch_wait_ms, no_batching)
    params: dict[str, Any] = {}
    if stages is not None:
        policy, params = STAGES, {"stages": _read_stages(stages)}
    if version is not None:
        params["version"] = version
    for item in param or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInput(f"--param {item!r}: write key=value.")
        try:
            params[key] = orjson.loads(value)
        except orjson.JSONDecodeError:
            params[key] = value
    with open_services() as services:
        config = services.endpoints.set(
            name, policy, params, actor=actor(), reason=reason, batching=batching
        )
    batched = ""
    if config.batching is not None:
        batched = (
            f", batching up to {config.batching.max_batch_size} rows or "
            f"{config.batching.max_batch_wait_ms:g} ms"
        )
    console.print(
        f"Endpoint [bold]{config.name}[/bold] → {config.policy} {config.params}{batched} "
        f"(configuration {config.config_version})"
    )


def _batching(size: int | None, wait_ms: float | None, off: bool) -> Any:
    from champion.serving.endpoints import KEEP

    if off:
        if size is not None or wait_ms is not None:
            raise InvalidInput(
                "--no-batching takes neither --max-batch-size nor --max-batch-wait-ms."
            )
        return None
    if size is None and wait_ms is None:
        return KEEP
    if size is None or wait_ms is None:
        missing = "--max-batch-wait-ms" if wait_ms is None else "--max-batch-size"
        raise InvalidInput(
            f"Batching needs both --max-batch-size and --max-batch-wait-ms; add {missing}."
        )
    return {"max_batch_size": size, "max_batch_wait_ms": wait_ms}


@endpoints_app.command("switch")
def switch(
    name: str,
    reason: Annotated[str, typer.Option(help="Why, for the audit log.")] = "",
) -> None:
    """Flip a blue_green endpoint's live colour (blue ↔ green) in one atomic change."""
    with open_services() as services:
        current = services.endpoints.get(name)
        if current.policy != "blue_green":
            raise InvalidInput(
                f"Endpoint {name!r} uses the {current.policy} policy; only blue_green switches."
            )
        live = "green" if current.params.get("live", "blue") == "blue" else "blue"
        config = services.endpoints.set(
            name, "blue_green", current.params | {"live": live}, actor=actor(), reason=reason
        )
    console.print(
        f"Endpoint [bold]{name}[/bold] now serves {live}: "
        f"{config.params[live]} (configuration {config.config_version})"
    )


@endpoints_app.command("list")
def list_endpoints() -> None:
    """List endpoints with their policy and parameters."""
    with open_services() as services:
        configs = services.endpoints.list_endpoints()
    table = Table("endpoint", "policy", "params", "config", "updated")
    for c in configs:
        table.add_row(
            c.name,
            c.policy,
            _params(c.params),
            str(c.config_version),
            f"{c.updated_at:%Y-%m-%d %H:%M} by {c.updated_by}",
        )
    print_table(table, "No endpoints yet. Create one with 'champion endpoints set NAME'.")


@endpoints_app.command("show")
def show(
    name: str,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON: the configuration, its history, versions.")
    ] = False,
) -> None:
    """Show endpoint NAME: its configuration history and the versions it resolves to."""
    with open_services() as services:
        history = services.endpoints.history(name)
        resolved = {}
        for ref in services.endpoints.validate(history[-1].policy, history[-1].params):
            resolved[ref] = str(services.registry.resolve(ref).key)
    if as_json:
        body = {
            "name": name,
            "policy": history[-1].policy,
            "params": history[-1].params,
            "config_version": history[-1].config_version,
            "batching": _config_json(history[-1])["batching"],
            "resolves": resolved,
            "history": [_config_json(c) for c in history],
        }
        console.print_json(orjson.dumps(body).decode())
        return
    table = Table("config", "policy", "params", "when", "who", "why", title=f"endpoint {name}")
    for c in history:
        table.add_row(
            str(c.config_version),
            c.policy,
            _params(c.params),
            f"{c.updated_at:%Y-%m-%d %H:%M:%S}",
            c.updated_by,
            c.reason,
        )
    console.print(table)
    for ref, key in resolved.items():
        console.print(f"{ref} resolves to [bold]{key}[/bold]")


@endpoints_app.command("rm")
def remove(
    name: str,
    reason: Annotated[str, typer.Option(help="Why, for the audit log.")] = "",
) -> None:
    """Delete endpoint NAME (refused while an experiment runs on it; its history stays).

    Running servers stop serving it within a second.
    """
    with open_services() as services:
        removed = services.experiments.remove_endpoint(name, actor=actor(), reason=reason)
    console.print(
        f"Removed endpoint [bold]{name}[/bold] ({removed.policy}, configuration "
        f"{removed.config_version})."
    )


@endpoints_app.command("stages")
def stages_of(
    name: str,
    window: Annotated[str, typer.Option(help="The last 15m, 1h, 7d…")] = "1d",
) -> None:
    """Per stage of pipeline endpoint NAME over the window: each version's requests, latency
    p50/p99 and fallbacks (its challenger failed and its champion answered)."""
    from champion.db import read
    from champion.events import version_stats
    from champion.periods import resolve_window
    from champion.serving.stages import STAGES, parse_stages, stage_endpoint

    with open_services() as services:
        config = services.endpoints.get(name)
        if config.policy != STAGES:
            raise InvalidInput(f"Endpoint {name!r} has no stages (it runs {config.policy}).")
        start, end = resolve_window(services.clock, window, None, None)
        order = parse_stages(config.params)
        with read(services.engine) as conn:
            found = [
                (
                    stage.name,
                    version_stats(conn, stage_endpoint(name, stage.name, order), start, end),
                )
                for stage in order
            ]
    table = Table("stage", "version", "arm", "requests", "p50 ms", "p99 ms", "fallbacks")
    for stage, stats in found:
        for s in stats or []:
            table.add_row(
                stage, f"{s.model}/{s.version}", s.arm, str(s.requests),
                _ms(s.latency_p50_ms), _ms(s.latency_p99_ms), str(s.fallbacks),
            )  # fmt: skip
        if not stats:
            table.add_row(stage, "-", "-", "0", "-", "-", "0")
    console.print(table)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _read_stages(path: Path) -> Any:
    """The stages in ``path``: a list, or a mapping with the key ``stages``."""
    import yaml

    try:
        loaded = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"--stages {str(path)!r}: not YAML or JSON ({exc}).") from None
    if isinstance(loaded, dict) and "stages" in loaded:
        loaded = loaded["stages"]
    if not isinstance(loaded, list):
        raise InvalidInput(
            f"--stages {str(path)!r}: expected a list of stages (or 'stages:' and a list)."
        )
    return loaded


def _params(params: dict[str, Any]) -> Text:
    # Folded, never cut: a parameter is read whole or not at all.
    return Text(orjson.dumps(params, option=orjson.OPT_SORT_KEYS).decode(), overflow="fold")


def _config_json(config: EndpointConfig) -> dict[str, Any]:
    return {
        "config_version": config.config_version,
        "policy": config.policy,
        "params": config.params,
        "updated_at": config.updated_at.isoformat(),
        "updated_by": config.updated_by,
        "reason": config.reason,
        "batching": None if config.batching is None else config.batching.model_dump(),
    }
