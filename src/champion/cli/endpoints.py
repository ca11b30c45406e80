"""champion endpoints set|show."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
import typer
from rich.table import Table

from champion.cli.common import actor, console, open_services
from champion.errors import InvalidInput

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
    reason: Annotated[str, typer.Option(help="Why, for the audit log.")] = "",
) -> None:
    """Create or change endpoint NAME (running servers follow within a second)."""
    params: dict[str, Any] = {}
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
        config = services.endpoints.set(name, policy, params, actor=actor(), reason=reason)
    console.print(
        f"Endpoint [bold]{config.name}[/bold] → {config.policy} {config.params} "
        f"(configuration {config.config_version})"
    )


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


@endpoints_app.command("show")
def show(name: Annotated[str | None, typer.Argument()] = None) -> None:
    """List endpoints, or show one with its configuration history."""
    with open_services() as services:
        if name is None:
            table = Table("endpoint", "policy", "params", "config", "updated")
            for c in services.endpoints.list_endpoints():
                table.add_row(
                    c.name,
                    c.policy,
                    orjson.dumps(c.params).decode(),
                    str(c.config_version),
                    f"{c.updated_at:%Y-%m-%d %H:%M} by {c.updated_by}",
                )
            console.print(table)
            return
        history = services.endpoints.history(name)
        resolved = {}
        for ref in services.endpoints.validate(history[-1].policy, history[-1].params):
            resolved[ref] = str(services.registry.resolve(ref).key)
    table = Table("config", "policy", "params", "when", "who", "why", title=f"endpoint {name}")
    for c in history:
        table.add_row(
            str(c.config_version),
            c.policy,
            orjson.dumps(c.params).decode(),
            f"{c.updated_at:%Y-%m-%d %H:%M:%S}",
            c.updated_by,
            c.reason,
        )
    console.print(table)
    for ref, key in resolved.items():
        console.print(f"{ref} resolves to [bold]{key}[/bold]")
