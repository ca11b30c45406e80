"""champion alerts list|rules|set|show|rm|evaluate."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
import typer
from rich.table import Table

from champion.cli.common import actor, console, open_services
from champion.cli.render import print_table
from champion.errors import InvalidInput

__all__ = ["alerts_app"]

alerts_app = typer.Typer(help="Alert rules and the alerts they raised.", no_args_is_help=True)


@alerts_app.command("list")
def list_alerts(
    state: Annotated[str | None, typer.Option(help="open or resolved.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
) -> None:
    """The alert history, newest first."""
    with open_services() as services:
        alerts = services.alerts.list_alerts(state, limit)
    table = Table("id", "rule", "severity", "state", "value", "opened", "resolved", "message")
    for a in alerts:
        table.add_row(
            str(a.id), a.rule, a.severity, a.state, f"{a.value:.4g}",
            f"{a.opened_at:%Y-%m-%d %H:%M:%S}",
            "-" if a.resolved_at is None else f"{a.resolved_at:%Y-%m-%d %H:%M:%S}", a.message,
        )  # fmt: skip
    print_table(table, "No alerts match." if state else "No alerts yet.")


@alerts_app.command("rules")
def rules() -> None:
    """List the alert rules."""
    with open_services() as services:
        found = services.alerts.list_rules()
    table = Table("rule", "endpoint", "condition", "window", "severity", "cooldown", "sinks")
    for r in found:
        table.add_row(
            r.name, r.endpoint, f"{r.metric} {r.operator} {r.threshold:g}",
            f"{r.window_seconds:g} s", r.severity, f"{r.cooldown_seconds:g} s",
            ", ".join(str(s.get("type")) for s in r.sinks),
        )  # fmt: skip
    print_table(table, "No alert rules yet. Add one with 'champion alerts set NAME'.")


@alerts_app.command("set")
def set_rule(
    name: str,
    endpoint: Annotated[str, typer.Option(help="Endpoint to watch.")],
    metric: Annotated[str, typer.Option(help="drift_share, quality_bad_share, error_rate, ...")],
    above: Annotated[float | None, typer.Option(help="Fire when the metric is above this.")] = None,
    below: Annotated[float | None, typer.Option(help="Fire when the metric is below this.")] = None,
    window: Annotated[str, typer.Option(help="Over how long: 15m, 1h, 1d.")] = "1h",
    severity: Annotated[str, typer.Option(help="info, warning or critical.")] = "warning",
    cooldown: Annotated[str, typer.Option(help="Least time between two openings.")] = "1h",
    webhook: Annotated[list[str] | None, typer.Option(help="Webhook URL; repeatable.")] = None,
    log: Annotated[bool, typer.Option(help="Also log the alert.")] = True,
    description: Annotated[str, typer.Option(help="What the rule is for.")] = "",
    reason: Annotated[str, typer.Option(help="Why, for the audit log.")] = "",
) -> None:
    """Create or change the alert rule NAME."""
    from champion.alerts import AlertRule

    if (above is None) == (below is None):
        raise InvalidInput("Give exactly one of --above and --below.")
    sinks: list[dict[str, Any]] = [{"type": "log"}] if log else []
    sinks += [{"type": "webhook", "url": url} for url in webhook or []]
    threshold = above if above is not None else below
    assert threshold is not None
    rule = AlertRule.create(
        name, endpoint=endpoint, metric=metric, threshold=threshold,
        operator="above" if above is not None else "below", window=window,
        severity=severity, cooldown=cooldown, sinks=sinks, description=description,
    )  # fmt: skip
    with open_services() as services:
        stored = services.alerts.put_rule(rule, actor=actor(), reason=reason)
    console.print(
        f"Rule [bold]{stored.name}[/bold]: {stored.metric} {stored.operator} "
        f"{stored.threshold:g} on {stored.endpoint} (servers evaluate it on their schedule)."
    )


@alerts_app.command("show")
def show(name: str) -> None:
    """Show one rule."""
    with open_services() as services:
        rule = services.alerts.get_rule(name)
    console.print_json(orjson.dumps(rule.to_json()).decode())


@alerts_app.command("rm")
def remove(
    name: str, reason: Annotated[str, typer.Option(help="Why, for the audit log.")] = ""
) -> None:
    """Delete the rule NAME (its alert history stays)."""
    with open_services() as services:
        services.alerts.delete_rule(name, actor=actor(), reason=reason)
    console.print(f"Deleted rule {name}")


@alerts_app.command("evaluate")
def evaluate() -> None:
    """Evaluate every rule now and deliver what changed (the server does it on a schedule)."""
    with open_services() as services:
        changed = services.alerts.evaluate()
        services.alerts.flush()
    for alert in changed:
        console.print(f"[{alert.severity}] {alert.state}: {alert.message}")
    if not changed:
        console.print("No alert opened or resolved.")
