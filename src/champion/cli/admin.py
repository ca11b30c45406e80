"""champion admin: upkeep of the database itself."""

from __future__ import annotations

from datetime import timedelta

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from champion.cli.common import console, open_services

__all__ = ["admin_app"]

admin_app = typer.Typer(
    help="Upkeep of the database: rebuild the aggregates.", no_args_is_help=True
)


@admin_app.command("rebuild-aggregates")
def rebuild_aggregates() -> None:
    """Recompute the rollups that reports read from the raw prediction and feedback rows
    (after an upgrade, or to repair them); reports stay right while it runs."""
    from champion.events.rollups import rebuild

    columns = (
        TextColumn("folding"),
        BarColumn(),
        TextColumn("{task.completed:,} of {task.fields[rows]:,} rows"),
        TimeElapsedColumn(),
    )
    with open_services() as services, Progress(*columns, console=console) as bar:
        task = bar.add_task("folding", total=None, rows=0)
        lag = timedelta(seconds=services.settings.fold_lag_seconds)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, rows=total)

        folded = rebuild(services.engine, services.clock.now(), lag=lag, progress=advance)
    console.print(f"Rebuilt the aggregates: {folded:,} rows folded.")
