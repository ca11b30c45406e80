"""champion diagnose: step timings, dependency health and data integrity, as tables."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
import typer
from rich.table import Table

from champion.cli.common import console, open_services

__all__ = ["diagnose"]


def diagnose(
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    history: Annotated[int, typer.Option(help="Runs per pipeline.")] = 20,
) -> None:
    """Where time goes and what is unhealthy: pipelines, versions, packages, data."""
    # The report brings pandas and the automation stack: imported only when asked for.
    from champion.diagnostics.report import diagnose as build_report

    with open_services() as services:
        report = build_report(services, history=history)
    if as_json:
        console.print_json(orjson.dumps(report).decode())
        return
    _dependencies(report["dependencies"])
    for name, timings in report.get("pipelines", {}).items():
        _steps(name, timings)
    for where, found in report.get("data", {}).get("ingested", {}).items():
        if "columns" in found:
            _columns(f"Latest ingested data of {where} ({found['file']})", found["columns"])
    for endpoint, found in report.get("data", {}).get("live", {}).items():
        _columns(f"Live inputs of {endpoint} (newest {found['rows']})", found["columns"])
    console.print(
        "Per-stage serving latency (routing, model call, logging) is kept by a running server: "
        "GET /v1/diagnostics."
    )


def _dependencies(found: dict[str, Any]) -> None:
    table = Table("dependency", "status", "detail", title="Dependencies")
    database = found["database"]
    detail = f"{database.get('backend')}, {database.get('latency_ms', 0):.1f} ms"
    table.add_row("database", database["status"], database.get("error") or detail)
    for key in ("artifact_store", "datasets"):
        store = found[key]
        table.add_row(key.replace("_", " "), store["status"], store.get("error") or store["path"])
    for version in found.get("versions", []):
        problems = "; ".join(version["problems"])
        table.add_row(f"version {version['version']}", version["sha256"], problems or "")
        for package in version["packages"]:
            if package["status"] != "same" or package["outdated"]:
                newest = package["newest"]
                table.add_row(
                    f"  {package['package']}",
                    package["status"],
                    f"trained with {package['trained_with']}, installed {package['installed']}, "
                    f"newest {newest}",
                )
    console.print(table)
    check = found.get("update_check")
    if check is not None and not check["enabled"]:
        console.print(check["message"])


def _steps(name: str, timings: dict[str, Any]) -> None:
    slowest = (timings.get("slowest_latest") or {}).get("step")
    table = Table(
        "step",
        "latest s",
        "median s",
        "trend",
        "history (oldest → newest)",
        title=f"Pipeline {name}: step timings over {timings['runs']} run(s)",
    )
    for step in timings["steps"]:
        style = (
            "bold red" if step["step"] == slowest else "yellow" if step["trend"] == "slower" else ""
        )
        median = step["median_seconds"]
        history = " ".join(f"{h['seconds']:.2f}" for h in step["history"][-10:])
        table.add_row(
            step["step"],
            f"{step['latest_seconds']:.2f}",
            f"{median:.2f}" if median is not None else "-",
            step["trend"],
            history,
            style=style,
        )
    console.print(table)
    if slowest:
        share = timings["slowest_latest"]["share"] or 0
        console.print(f"Slowest step of the latest run: [bold]{slowest}[/bold] ({share:.0%}).")


def _columns(title: str, columns: list[dict[str, Any]]) -> None:
    table = Table("column", "missing", "mean", "median", "std", "distinct", title=title)

    def number(value: float | None) -> str:
        return "-" if value is None else f"{value:.4g}"

    for c in columns:
        table.add_row(
            c["column"],
            f"{c['missing_share']:.1%}",
            number(c["mean"]),
            number(c["median"]),
            number(c["std"]),
            str(c["distinct"]),
        )
    console.print(table)
