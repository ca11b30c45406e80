"""champion drift reference|show|compare|report|performance|ranking."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer
from rich.progress import MofNCompleteColumn, TextColumn
from rich.table import Table

from champion.cli.common import actor, console, open_services, status
from champion.cli.render import bar
from champion.errors import InvalidInput

if TYPE_CHECKING:
    from champion.drift.monitor import DriftRun

# The drift modules import SciPy and pandas: each command imports what it needs when it runs.

__all__ = ["drift_app"]

drift_app = typer.Typer(
    help="Reference profiles, drift of live traffic or data files, reports.", no_args_is_help=True
)

Window = Annotated[
    str | None, typer.Option(help="How far back from now: 15m, 1h, 7d (default 1d).")
]
Version = Annotated[
    str | None,
    typer.Option(
        help="Whose reference: attrition/1 or attrition@champion "
        "(default: the version serving the endpoint now)."
    ),
]
Tests = Annotated[
    list[str] | None,
    typer.Option("--test", help="column=detector (ks, chi2, psi, ...); repeatable."),
]


@contextmanager
def _progress(label: str, total: int | None = None) -> Iterator[Callable[[int, int | None], None]]:
    # Determinate (percentage and time left) when the number of rows is known: Parquet says
    # it, a text file's lines are counted first (``total``); a window of predictions may not.
    with bar(MofNCompleteColumn(separator=" of "), TextColumn("rows")) as shown:
        task = shown.add_task(label, total=total)

        def advance(done: int, rows: int | None) -> None:
            shown.update(task, completed=done, total=max(rows or total or 0, done) or None)

        yield advance
        # Read to the end: what was read is the whole, whatever the estimate said.
        read = next(t.completed for t in shown.tasks if t.id == task)
        if read:
            shown.update(task, total=read)


def _text_rows(path: Path) -> int | None:
    """Rows of a CSV (lines less the header) or JSON Lines file, by counting newlines (about
    a second per GB); None for other files. A quoted field spanning lines makes it an upper
    bound, which the bar corrects as it reaches the end."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl") or not path.is_file():
        return None
    lines, last = 0, b"\n"
    with path.open("rb") as file:
        while block := file.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
    lines += last != b"\n"  # a last line without its newline
    return max(lines - (suffix == ".csv"), 0)


def _tests(items: list[str] | None) -> dict[str, str]:
    from champion.drift.monitor import parse_tests

    return parse_tests(items or [])


@drift_app.command("reference")
def reference(
    version: Annotated[str, typer.Argument(help="attrition/1 or attrition@champion")],
    data: Annotated[Path, typer.Argument(help="Training data: .csv, .parquet or .jsonl")],
    replace: Annotated[
        bool, typer.Option("--replace", help="Recompute an existing profile.")
    ] = False,
    reason: Annotated[str, typer.Option(help="Why, for the audit log.")] = "",
    label: Annotated[
        str | None,
        typer.Option(
            help="DATA's column of true outcomes (classifiers): calibrates the scores for "
            "estimated performance (default: 'target' in champion.yaml)."
        ),
    ] = None,
) -> None:
    """Profile DATA (and the model's outputs on it) as VERSION's reference, once."""
    with open_services() as services, status(f"Profiling {data} and scoring it..."):
        stored = services.references.compute(
            version, data, actor=actor(), replace=replace, reason=reason, label=label
        )
    table = Table("column", "role", "kind", "rows", "missing", title=f"reference of {stored.key}")
    outputs = set(stored.output_columns)
    for column in stored.profile.columns:
        role = "output" if column.name in outputs else "input"
        table.add_row(
            column.name, role, column.kind, f"{column.count:,}", f"{column.missing_share:.1%}"
        )
    console.print(table)
    console.print(f"Stored the reference of [bold]{stored.key}[/bold] ({stored.rows:,} rows).")


@drift_app.command("show")
def show(
    endpoint: str,
    window: Window = None,
    version: Version = None,
    test: Tests = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    stage: Annotated[
        str | None, typer.Option(help="A pipeline endpoint's stage (default: its last).")
    ] = None,
) -> None:
    """Drift of what ENDPOINT (or its STAGE) served in the window, against the reference."""
    with open_services() as services, _progress("Reading predictions") as progress:
        if stage is not None:
            config = services.endpoints.get(endpoint)
            endpoint = services.endpoints.stage_config(config, stage).name
        run = services.drift.endpoint_drift(
            endpoint, window=window, version=version, tests=_tests(test), progress=progress
        )
    _print(run, as_json)


@drift_app.command("compare")
def compare(
    version: Annotated[str, typer.Argument(help="attrition/1 or attrition@champion")],
    data: Annotated[Path, typer.Argument(help="Current data: .csv, .parquet or .jsonl")],
    test: Tests = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Drift of a data file (read in chunks) against VERSION's reference."""
    with (
        open_services() as services,
        _progress(f"Reading {data.name}", _text_rows(data)) as progress,
    ):
        run = services.drift.data_drift(version, data, tests=_tests(test), progress=progress)
    _print(run, as_json)


@drift_app.command("report")
def report(
    endpoint: Annotated[str | None, typer.Option(help="Endpoint whose traffic to compare.")] = None,
    data: Annotated[Path | None, typer.Option(help="Or a data file to compare.")] = None,
    version: Version = None,
    window: Window = None,
    test: Tests = None,
    out: Annotated[Path, typer.Option(help="HTML file to write (JSON beside it).")] = Path(
        "drift-report.html"
    ),
) -> None:
    """Write a self-contained HTML report and its JSON: distributions, tests, verdicts (for
    a ranker endpoint: what it showed against the window before)."""
    from champion.drift.report import write_report

    if (endpoint is None) == (data is None):
        raise InvalidInput("Give either --endpoint or --data.")
    rows = None if data is None else _text_rows(data)
    if endpoint is not None and _serves_ranker(endpoint):
        _ranking_report(endpoint, window, out)
        return
    with open_services() as services, _progress("Comparing with the reference", rows) as progress:
        if endpoint is not None:
            run = services.drift.endpoint_drift(
                endpoint, window=window, version=version, tests=_tests(test), progress=progress
            )
        else:
            if version is None:
                raise InvalidInput("--data needs --version (whose reference to compare with).")
            assert data is not None
            run = services.drift.data_drift(version, data, tests=_tests(test), progress=progress)
    path = write_report(run, out)
    console.print(
        f"{len(run.drift.drifted_columns)} of {len(run.drift.columns)} columns drifted. "
        f"Report: [bold]{path}[/bold] (JSON: {path.with_suffix('.json')})"
    )


def _serves_ranker(endpoint: str) -> bool:
    with open_services() as services:
        live = services.endpoints.live_version(endpoint)
        return services.registry.get_version(live.model, live.number).kind == "ranker"


def _ranking_report(endpoint: str, window: str | None, out: Path) -> None:
    from champion.drift.ranking_report import write_ranking_report

    with open_services() as services, status("Reading what the ranker showed"):
        result = services.drift.ranking(endpoint, window=window)
    path = write_ranking_report(result, out)
    drifted = [str(v.version) for v in result.versions if v.item_drift.drifted]
    console.print(
        f"Shown items drifted for {len(drifted)} of {len(result.versions)} versions"
        f"{': ' + ', '.join(drifted) if drifted else ''}. "
        f"Report: [bold]{path}[/bold] (JSON: {path.with_suffix('.json')})"
    )


@drift_app.command("performance")
def performance(
    endpoint: str,
    window: Window = None,
    bucket: Annotated[str, typer.Option(help="Width of each time bucket.")] = "1h",
    version: Version = None,
    estimated: Annotated[
        bool,
        typer.Option(
            "--estimated",
            help="Expected accuracy, AUC and F1 from the calibrated scores (CBPE, no labels "
            "needed) beside the realised ones; needs a labelled reference.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Performance over time from labels, and changes found in the error stream."""
    from champion.drift.concept import performance as performance_over_time
    from champion.periods import parse_window, resolve_window

    if estimated:
        _estimated(endpoint, window, bucket, version, as_json)
        return
    with open_services() as services:
        start, end = resolve_window(services.clock, window)
        key = services.drift.window_version(endpoint, start, end, version)
        kind = services.registry.get_version(key.model, key.number).kind
        result = performance_over_time(
            services.engine, endpoint, start, end, kind=kind,
            bucket=parse_window(bucket, "bucket"), version=key,
        )  # fmt: skip
    if as_json:
        print(orjson.dumps({"version": str(key), **result.to_json()}).decode())
        return
    names = list(result.overall)
    table = Table("from", "labelled", *names, title=f"{endpoint}: {key}, {result.n:,} labelled")
    for b in result.buckets:
        if b.n:
            values = [_cell(b.metrics[k]) for k in names]
            table.add_row(f"{b.start:%Y-%m-%d %H:%M}", str(b.n), *values)
    console.print(table)
    for d in result.detections:
        console.print(
            f"{d.detector}: {d.kind} at labelled prediction {d.index} ({d.at:%Y-%m-%d %H:%M:%S})"
        )


@drift_app.command("ranking")
def ranking(
    endpoint: str,
    window: Window = None,
    buckets: Annotated[int, typer.Option(min=1, max=48, help="Click-through time buckets.")] = 12,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """What ranker ENDPOINT showed in the window against the window before: item drift,
    catalogue coverage, popularity of what is shown, click-through by position."""
    with open_services() as services:
        body = services.drift.ranking(endpoint, window=window, buckets=buckets).to_json()
    if as_json:
        console.print_json(orjson.dumps(body).decode())
        return
    if body["message"]:
        console.print(body["message"])
        return
    title = (
        f"{endpoint}: {body['start']} to {body['end']} against the window before "
        f"(catalogue {body['catalogue']['size']:,} items, popularity from its "
        f"{body['popularity_basis']})"
    )
    table = Table(
        "version", "impressions", "users", "items", "coverage", "before*", "Gini",
        "popularity rank", "item drift", "verdict", title=title,
    )  # fmt: skip
    for row in [{"version": "window before", **body["reference"]}, *body["versions"]]:
        drift = row.get("item_drift")
        table.add_row(
            row["version"], f"{row['impressions']:,}", f"{row['units']:,}",
            f"{row['distinct_items']:,}", _percent(row["coverage"]),
            _percent(row.get("reference_coverage_at_same_impressions")), _cell(row["gini"]),
            _cell(row["mean_popularity_rank"]),
            "" if drift is None else f"p {_p(drift['p_value'])}, JS {_cell(drift['js_distance'])}",
            "" if drift is None
            else "not tested" if drift["p_value"] is None
            else "drift" if drift["drifted"] else "ok",
            style="red" if drift and drift["drifted"] else "",
        )  # fmt: skip
    console.print(table)
    console.print("* the window before's coverage at the version's number of impressions")
    ctr = Table("version", "positions", "impressions", "clicked", "click-through", "95 % interval")
    for version in body["versions"]:
        overall = version["click_through"]
        for row in [{"positions": "all", **overall}, *overall["by_position"]]:
            interval = "-" if row["ci"] is None else f"[{row['ci'][0]:.4f}, {row['ci'][1]:.4f}]"
            ctr.add_row(
                version["version"], row["positions"], f"{row['impressions']:,}",
                f"{row['clicked']:,}", _percent(row["ctr"]), interval,
            )  # fmt: skip
    console.print(ctr)
    for version in body["versions"]:
        context = version["context"]
        if not context["available"]:
            console.print(context["message"])
        else:
            drifted = context["drift"]["drifted_columns"]
            console.print(
                f"{version['version']}: {len(drifted)} of {len(context['drift']['columns'])} "
                f"context inputs drifted{': ' + ', '.join(drifted) if drifted else ''}."
            )


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _estimated(
    endpoint: str, window: str | None, bucket: str, version: str | None, as_json: bool
) -> None:
    from champion.drift.estimation import EstimatedBucket, estimated_performance
    from champion.periods import parse_window, resolve_window

    with open_services() as services:
        start, end = resolve_window(services.clock, window)
        key = services.drift.window_version(endpoint, start, end, version)
        result = estimated_performance(
            services.engine,
            endpoint,
            start,
            end,
            bucket=parse_window(bucket, "bucket"),
            version=key,
        )
    if as_json:
        print(orjson.dumps(result.to_json()).decode())
        return
    names = ("accuracy", "auc", "f1")
    table = Table(
        "from", "served", *(f"est. {n}" for n in names), "labelled",
        *(f"real {n}" for n in names), "flagged",
        title=f"{endpoint}: {key}, estimated (CBPE) and realised",
    )  # fmt: skip

    def row(label: str, b: EstimatedBucket) -> None:
        table.add_row(
            label, f"{b.estimated.n:,}", *(_cell(b.estimated.metrics[n]) for n in names),
            f"{b.labelled:,}", *(_cell(b.realised[n]) for n in names),
            "[red]" + ", ".join(b.flagged) + "[/red]" if b.flagged else "",
        )  # fmt: skip

    for b in result.buckets:
        if b.estimated.n:
            row(f"{b.start:%Y-%m-%d %H:%M}", b)
    row("overall", result.overall)
    console.print(table)
    if result.overall.flagged:
        console.print(
            "Flagged: the realised metric left the interval expected for its labels; the "
            "estimate's assumptions (no concept drift, calibration still true) broke."
        )


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _p(value: float | None) -> str:
    # A p-value never reads 0: below 1e-4 it is "< 0.0001", as on the dashboard.
    return "-" if value is None else "< 0.0001" if value < 1e-4 else f"{value:.2g}"


def _print(run: DriftRun, as_json: bool) -> None:
    if as_json:
        console.print_json(orjson.dumps(run.to_json()).decode())
        return
    serving = " (serving now)" if run.endpoint and run.basis == "live" else ""
    title = f"{run.endpoint or run.source} against {run.version}{serving}: {run.drift.rows:,} rows"
    table = Table(
        "column", "test", "statistic", "p (corrected)", "threshold", "verdict", title=title
    )
    for c in run.drift.columns:
        style = "red" if c.drifted else ""
        table.add_row(
            c.column, c.method, f"{c.statistic:.4g}", _p(c.p_adjusted),
            f"{c.threshold:g}", "drift" if c.drifted else "ok", style=style,
        )  # fmt: skip
    console.print(table)
    if run.resolution == "day" and run.covered is not None:
        start, end = (at.isoformat() for at in run.covered)
        console.print(
            f"The raw predictions of part of the window are gone: whole stored days were "
            f"compared, from {start} to {end} (the resolution there is a day)."
        )
    quality = run.quality
    bad = "1 row has" if quality.bad_rows == 1 else f"{quality.bad_rows:,} rows have"
    console.print(
        f"{len(run.drift.drifted_columns)} of {len(run.drift.columns)} columns drifted "
        f"({run.drift.share_drifted:.0%}); {bad} data-quality problems "
        f"({_share(quality.share_bad)})."
    )
    if quality.unchecked_columns:
        console.print(
            f"The data holds none of the model's outputs "
            f"({', '.join(sorted(quality.unchecked_columns))}): only its inputs were compared."
        )


def _share(share: float) -> str:
    # A few bad rows in a big file must not read 0.0 %.
    if 0 < share < 0.001:
        return "< 0.1%"
    return f"{share:.1%}"
