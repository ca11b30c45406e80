"""champion pipeline apply|run|list|show|approve, and champion ingest SOURCE."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import DownloadColumn, MofNCompleteColumn, TaskID
from rich.table import Table

from champion.cli.common import actor, console, open_services, status
from champion.cli.render import bar, print_table

if TYPE_CHECKING:
    from champion.automation import Progress as RunProgress
    from champion.automation import Run

__all__ = ["ingest", "pipeline_app"]

pipeline_app = typer.Typer(
    help="Retraining pipelines: ingest, train, gate, register, deploy.", no_args_is_help=True
)

_STYLE = {
    "succeeded": "green",
    "failed": "red",
    "rejected": "yellow",
    "skipped": "dim",
    "awaiting_approval": "cyan",
    "proposed": "cyan",
    "running": "blue",
    "queued": "blue",
}


@contextmanager
def _bars() -> Iterator[RunProgress]:
    # Automation brings pandas, pyarrow and SciPy: imported when a command needs it, so that
    # every other command starts fast.
    from champion.automation import STEPS

    with bar(MofNCompleteColumn()) as shown:
        steps = shown.add_task("Pipeline", total=len(STEPS))
        files: list[TaskID] = []

        def progress(event: str, step: str, done: int, total: int) -> None:
            if event == "start":
                shown.update(steps, completed=done, description=f"Step {done + 1}/{total}: {step}")
            elif event == "end":
                shown.update(steps, completed=done)
            else:
                if not files:
                    files.append(shown.add_task("Ingesting files", total=total))
                shown.update(files[0], completed=done, total=total, description=f"Ingesting {step}")

        yield progress


@pipeline_app.command("apply")
def apply(
    file: Annotated[Path, typer.Argument(help="Pipeline YAML file.")],
    reason: Annotated[str, typer.Option(help="Why, for the audit log.")] = "",
) -> None:
    """Create or update the pipeline defined in FILE."""
    from champion.automation import load_pipeline

    spec = load_pipeline(file)
    with open_services() as services:
        record = services.pipelines.apply(spec, actor=actor(), reason=reason)
    console.print(f"Pipeline [bold]{record.name}[/bold] is at revision {record.revision}.")


@pipeline_app.command("run")
def run(
    name: str,
    reason: Annotated[str, typer.Option(help="Why, for the audit log.")] = "by hand",
    resume: Annotated[int | None, typer.Option(help="Resume this failed run instead.")] = None,
) -> None:
    """Run pipeline NAME here and now (or resume a failed run), with progress bars."""
    with open_services() as services, _bars() as progress:
        if resume is not None:
            finished = services.pipelines.resume(name, resume, progress=progress, actor=actor())
        else:
            finished = services.pipelines.run(name, reason=reason, actor=actor(), progress=progress)
    _show_run(finished)


@pipeline_app.command("approve")
def approve(
    name: str,
    run_id: Annotated[int, typer.Argument(help="The run awaiting approval.")],
    reason: Annotated[str, typer.Option(help="Why, for the audit log.")] = "",
) -> None:
    """Approve RUN_ID of NAME, then register and deploy it here."""
    with open_services() as services:
        services.pipelines.approve(name, run_id, actor=actor(), reason=reason)
        with _bars() as progress:
            finished = services.pipelines.execute(run_id, progress)
    _show_run(finished)


@pipeline_app.command("list")
def list_pipelines() -> None:
    """List pipelines with their last run."""
    with open_services() as services:
        records = services.pipelines.list_pipelines()
        last = {r.name: services.pipelines.list_runs(r.name, 1) for r in records}
    table = Table("pipeline", "model", "source", "automation", "schedule", "last run")
    for r in records:
        runs = last[r.name]
        schedule = r.spec.schedule
        when = (schedule.cron or f"every {schedule.every}") if schedule else "-"
        if r.spec.on_new_data:
            when += ", on new data"
        table.add_row(
            r.name,
            r.spec.model,
            r.spec.source_name,
            r.spec.automation,
            when,
            _status(runs[0]) if runs else "-",
        )
    print_table(table, "No pipelines yet. Add one with 'champion pipeline apply FILE'.")


@pipeline_app.command("show")
def show(
    name: str,
    run_id: Annotated[int | None, typer.Argument(help="One run, with its steps.")] = None,
) -> None:
    """Show NAME's recent runs, or one run with its steps."""
    with open_services() as services:
        if run_id is not None:
            _show_run(services.pipelines.get_run(name, run_id))
            return
        runs = services.pipelines.list_runs(name, 20)
    table = Table("run", "status", "trigger", "by", "created", "version", "outcome", title=name)
    for r in runs:
        version = str(r.version) if r.version else "-"
        table.add_row(
            str(r.id),
            _status(r),
            r.trigger,
            r.actor,
            f"{r.created_at:%Y-%m-%d %H:%M}",
            version,
            r.summary.get("outcome") or r.error or "",
        )
    print_table(table, f"No runs of {name} yet. Start one with 'champion pipeline run {name}'.")


def ingest(
    source: Annotated[str, typer.Argument(help="Source name, as a pipeline declares it.")],
) -> None:
    """Ingest the new files of SOURCE: fingerprint, screen, quarantine bad rows, store."""
    with open_services() as services:
        found = services.pipelines.source(source)
        with status(f"Reading the files of {source} for their sha256..."):
            todo = services.ingestion.pending(found)
        # Files are read whole, so the bar moves file by file, weighted by their bytes.
        done_bytes = list(itertools.accumulate((p.stat().st_size for p, _ in todo), initial=0))
        with bar(DownloadColumn()) as shown:
            task = shown.add_task(f"Ingesting {source}", total=done_bytes[-1])

            def advance(done: int, total: int, name: str) -> None:
                shown.update(task, completed=done_bytes[done], description=f"Ingesting {name}")

            created = services.ingestion.ingest(
                found, actor=actor(), progress=advance, pending=todo
            )
    if not created:
        console.print(f"Nothing new in source [bold]{source}[/bold].")
        return
    table = Table("file", "status", "rows", "accepted", "quarantined", "reason", title=source)
    for f in created:
        table.add_row(
            Path(f.path).name,
            f.status,
            str(f.rows),
            str(f.accepted_rows),
            str(f.quarantined_rows),
            f.reason,
        )
    console.print(table)


def _status(run: Run) -> str:
    return f"[{_STYLE.get(run.status, 'white')}]{run.status}[/]"


def _show_run(run: Run) -> None:
    table = Table(
        "step", "status", "seconds", "what happened", title=f"{run.pipeline} run {run.id}"
    )
    for step in run.steps:
        seconds = f"{step.seconds:.2f}" if step.seconds is not None else "-"
        table.add_row(step.step, step.status, seconds, step.error or _said(step.step, step.outputs))
    console.print(table)
    version = f" → version {run.version}" if run.version else ""
    console.print(f"Run {run.id}: {_status(run)}{version}. {run.summary.get('outcome') or ''}")
    console.print(f"Triggered by {run.trigger} ({run.actor}): {run.reason}")
    if run.error:
        console.print(f"[red]{run.error}")


def _said(step: str, outputs: dict[str, object]) -> str:
    if "reason" in outputs:
        return str(outputs["reason"])
    if step == "ingest":
        files = outputs.get("new_files") or []
        assert isinstance(files, list)
        return f"{len(files)} new file(s)" + "".join(
            f"; {Path(f['path']).name}: {f['status']}" for f in files
        )
    if step == "validate":
        used = outputs.get("files") or []
        assert isinstance(used, list)
        return f"{outputs.get('rows')} rows from {len(used)} file(s)"
    if step == "score":
        metrics = outputs.get("metrics") or {}
        assert isinstance(metrics, dict)
        return "; ".join(
            f"{who}: " + ", ".join(f"{k}={v:.4f}" for k, v in m.items())
            for who, m in metrics.items()
        )
    if step == "gate":
        return str(outputs.get("summary", ""))
    if step == "register":
        return f"version {outputs.get('version')}"
    if step == "deploy":
        experiment = outputs.get("experiment")
        opened = (
            f"; experiment {experiment['id']} (goal {experiment['goal']}, "
            f"automation {experiment['automation']})"
            if isinstance(experiment, dict)
            else ""
        )
        return str(
            outputs.get("skipped")
            or f"{outputs.get('endpoint')}: {outputs.get('policy')} {outputs.get('params')}"
            + opened
        )
    return f"{outputs.get('train_rows')} training rows, {outputs.get('holdout_rows')} held out"
