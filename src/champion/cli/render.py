"""How commands print: tables (one sentence when empty) and progress bars."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from champion.cli.common import console

__all__ = ["bar", "print_table"]


def print_table(table: Table, empty: str, *, out: Console | None = None) -> None:
    """``table``, or the sentence ``empty`` when it has no rows: a header with nothing under
    it reads like a failure.

    Every command says "nothing" the same way: ``No <things> yet.`` (with what to do next)
    when there is nothing at all, ``No <things> match.`` when a filter left nothing.
    """
    (out or console).print(table if table.row_count else empty)


def bar(*columns: str | ProgressColumn, out: Console | None = None) -> Progress:
    """A determinate progress bar: description, bar, percentage, the given columns, time
    spent and time left; its last frame stays (what was done, in how long). Shown only on a
    terminal: piped or redirected output gets the result alone, with no bar frames and no
    blank line before it."""
    where = out or console
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        *columns,
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=where,
        disable=not where.is_terminal,
    )
