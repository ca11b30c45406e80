"""champion admin: upkeep of the database itself (retention of the event log, the rollups)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from champion.cli.common import console, open_services

if TYPE_CHECKING:
    import sqlalchemy as sa

    from champion.events import Compaction, CompactionReport, Retention, RetentionReport

# The event log (SQLAlchemy) is imported by the commands that use it, when they run.

__all__ = ["admin_app"]

admin_app = typer.Typer(
    help="Upkeep: retention of the event log, rebuilding the aggregates.", no_args_is_help=True
)


@admin_app.command("retention")
def retention(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be deleted; delete nothing.")
    ] = False,
) -> None:
    """Delete folded events past CHAMPION_KEEP_PREDICTIONS / CHAMPION_KEEP_FEEDBACK and
    compact per-unit rollups past CHAMPION_KEEP_UNIT_ROLLUPS now, as the server's leader does
    every CHAMPION_RETENTION_INTERVAL_SECONDS."""
    with open_services() as services:
        pass_, compaction = services.retention, services.compaction
        if not pass_.enabled and not compaction.enabled:
            console.print(
                "Retention is off: events are kept forever. Set CHAMPION_KEEP_PREDICTIONS "
                "and/or CHAMPION_KEEP_FEEDBACK (e.g. 30d) to delete folded events past them, "
                "CHAMPION_KEEP_UNIT_ROLLUPS to compact per-unit rollups past it."
            )
            return
        if pass_.enabled:
            _retain(services.engine, pass_, dry_run=dry_run)
        if compaction.enabled:
            _compact(compaction, dry_run=dry_run)


def _retain(engine: sa.Engine, pass_: Retention, *, dry_run: bool) -> None:
    from champion.db import read
    from champion.events.retention_status import oldest_kept

    plan = pass_.plan()
    if dry_run:
        _show(pass_, plan, "Retention dry run: rows that would be deleted now")
        with read(engine) as conn:
            oldest = oldest_kept(conn)
        for table, at in oldest.items():
            console.print(f"Oldest {table} row: {at.isoformat() if at else 'none'}")
        return
    with _bar() as bar:
        tasks = {
            table: bar.add_task(f"deleting {table}", total=plan.deleted[table])
            for table in ("predictions", "feedback")
        }
        report = pass_.run(progress=lambda table, rows: bar.advance(tasks[table], rows))
    _show(pass_, report, f"Retention: deleted in {report.seconds:.1f} s")


def _compact(compaction: Compaction, *, dry_run: bool) -> None:
    plan = compaction.plan()
    if dry_run:
        _show_compaction(compaction, plan, "Compaction dry run: rows that would be taken out now")
        return
    with _bar() as bar:
        tasks = {
            table: bar.add_task(f"compacting {table}", total=rows)
            for table, rows in plan.rows.items()
        }
        report = compaction.run(progress=lambda table, rows: bar.advance(tasks[table], rows))
    _show_compaction(compaction, report, f"Compaction: done in {report.seconds:.1f} s")


def _bar() -> Progress:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    return Progress(*columns, console=console, transient=True)


def _show(pass_: Retention, report: RetentionReport, title: str) -> None:
    from champion.events.retention import describe_keep

    table = Table("table", "kept for", "deleted before", "rows", title=title)
    for name, rows in report.deleted.items():
        owner = name if name in pass_.keep else "predictions"
        keep = pass_.keep[owner]
        cutoff = report.cutoffs[owner]
        table.add_row(
            name,
            "forever" if keep is None else describe_keep(keep),
            cutoff.isoformat(timespec="seconds") if cutoff else "-",
            f"{rows:,}",
        )
    console.print(table)
    if report.partitions:
        console.print(f"Whole days dropped (their partitions): {', '.join(report.partitions)}")
    console.print("Only rows folded into the stored aggregates are deleted.")


def _show_compaction(compaction: Compaction, report: CompactionReport, title: str) -> None:
    from champion.events.retention import describe_keep

    assert compaction.keep is not None  # only shown when compaction is on
    cutoff = report.cutoff.isoformat(timespec="seconds") if report.cutoff else "-"
    table = Table("table", "kept per unit for", "segments ended before", "rows", title=title)
    for name, rows in report.rows.items():
        table.add_row(name, describe_keep(compaction.keep), cutoff, f"{rows:,}")
    console.print(table)
    console.print(
        f"{report.segments:,} segments compacted into per-arm totals; {report.held:,} kept "
        "per unit for running experiments; "
        f"{report.kept_totals:,} rows of the kept unit totals and moments of their cells dropped."
    )


@admin_app.command("rebuild-aggregates")
def rebuild_aggregates(
    from_rollups: Annotated[
        bool,
        typer.Option(
            "--from-rollups",
            help="Recompute only the per-unit totals, per-arm moments and per-version totals "
            "from the rollups (after upgrading a database folded before they existed; allowed "
            "after retention).",
        ),
    ] = False,
) -> None:
    """Recompute the rollups that reports read from the raw prediction and feedback rows
    (after an upgrade, or to repair them); reports stay right while it runs."""
    from champion.db import write
    from champion.events.rollups import rebuild

    columns = (
        TextColumn("reading rollups" if from_rollups else "folding"),
        BarColumn(),
        TextColumn("{task.completed:,} of {task.fields[rows]:,} rows"),
        TimeElapsedColumn(),
    )
    with open_services() as services, Progress(*columns, console=console) as bar:
        task = bar.add_task("folding", total=None, rows=0)
        lag = timedelta(seconds=services.settings.fold_lag_seconds)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, rows=total)

        if from_rollups:
            from champion.events.totals_rebuild import rebuild_totals

            # One transaction: reports read the old totals until it commits.
            with write(services.engine) as conn:
                read_rows = rebuild_totals(conn, progress=advance)
        else:
            segment = timedelta(seconds=services.settings.rollup_segment_seconds)
            folded = rebuild(
                services.engine, services.clock.now(), lag=lag, progress=advance, segment=segment
            )
    if from_rollups:
        console.print(f"Rebuilt the unit totals and moments from {read_rows:,} rollup rows.")
    else:
        console.print(f"Rebuilt the aggregates: {folded:,} rows folded.")
