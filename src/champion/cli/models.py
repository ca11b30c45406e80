"""champion models register|compile|list|show|rm, and champion alias set|rm."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import MofNCompleteColumn
from rich.table import Table

from champion.cli.common import actor, console, open_services, status, stderr
from champion.cli.render import bar, print_table
from champion.errors import InvalidInput

if TYPE_CHECKING:
    from champion.registry import Version
    from champion.registry.compiling import Compilation

# The registry (SQLAlchemy, NumPy) is imported by the commands that use it, when they run.

__all__ = ["alias_app", "models_app"]

DEFAULT_TOLERANCE = 1e-5
"""``champion.registry.compiling.DEFAULT_TOLERANCE``, shown by --help without importing the
registry (tests/cli/test_defaults.py keeps the two equal)."""

LATEST_VERSIONS = 20
"""Versions ``models show MODEL`` prints unless told otherwise (newest first)."""

models_app = typer.Typer(help="Register and inspect models and versions.", no_args_is_help=True)
alias_app = typer.Typer(
    help="Point aliases (champion, challenger, ...) at versions.", no_args_is_help=True
)


@models_app.command("register")
def register(
    folder: Annotated[
        Path,
        typer.Argument(help="Version folder with champion.yaml, or an MLflow model folder."),
    ],
    model: Annotated[
        str | None, typer.Option(help="Model name; default: name in champion.yaml.")
    ] = None,
    alias: Annotated[list[str] | None, typer.Option(help="Alias to set; repeatable.")] = None,
    reason: Annotated[str, typer.Option(help="Why, for the audit log.")] = "",
    compile_: Annotated[
        bool,
        typer.Option(
            "--compile",
            help="Also compile a scikit-learn version to ONNX where it verifies (see "
            "'models compile'); the aliases then go to the compiled version.",
        ),
    ] = False,
) -> None:
    """Register FOLDER as the next version of a model.

    Run on the server's machine, this registers versions that run their own code (python
    flavor, pickles, extra skops trusted_types): you already run code here. Over HTTP the
    server takes them only with CHAMPION_ALLOW_CODE_UPLOADS=true.
    """
    aliases = tuple(alias or ())
    with open_services() as services:
        with bar(MofNCompleteColumn()) as shown:
            task = shown.add_task("Storing files (sha256)", total=None)

            def advance(stored: int, total: int) -> None:
                shown.update(task, completed=stored, total=total)

            version = services.registry.register(
                folder,
                model=model,
                actor=actor(),
                aliases_to_set=() if compile_ else aliases,
                reason=reason,
                progress=advance,
            )
        if not compile_:
            _registered(version)
            return
        with status("Compiling and comparing"):
            result = services.registry.compile(
                str(version.key), actor=actor(), aliases_to_set=aliases, reason=reason
            )
        if result.version is None:
            for name in aliases:  # the aliases go to what will be served
                version = services.registry.set_alias(
                    version.model, name, version.number, actor=actor(), reason=reason
                )
            _registered(version)
            stderr.print(f"Not compiled, {version.key} is served by scikit-learn: {result.reason}")
        else:
            _registered(version)
            _compiled(version.key, result)


@models_app.command("compile")
def compile_version(
    ref: Annotated[str, typer.Argument(help="The scikit-learn version, e.g. attrition/3.")],
    sample: Annotated[
        Path | None,
        typer.Option(
            help="Rows to compare both on (.parquet, .csv, .jsonl); default: the version's "
            "reference data."
        ),
    ] = None,
    tolerance: Annotated[
        float,
        typer.Option(min=0, help="Largest accepted difference of a probability or value."),
    ] = DEFAULT_TOLERANCE,
    alias: Annotated[
        list[str] | None, typer.Option(help="Alias to set on the compiled version; repeatable.")
    ] = None,
    reason: Annotated[str, typer.Option(help="Why, for the audit log.")] = "",
) -> None:
    """Compile a scikit-learn version to ONNX, registered as the next version if it agrees.

    Both run the same rows (and probes between their values, where trees split); the
    compiled one is accepted only if every label is equal and no probability differs by more
    than the tolerance. Otherwise nothing is registered, the
    reason is printed and the exit code is 1.
    """
    from champion.datafiles import read_table
    from champion.registry import VersionRef

    rows = None if sample is None else read_table(sample)
    with open_services() as services, status("Compiling and comparing"):
        result = services.registry.compile(
            VersionRef.parse(ref),
            actor=actor(),
            sample=rows,
            tolerance=tolerance,
            aliases_to_set=tuple(alias or ()),
            reason=reason,
        )
    if result.version is None:
        stderr.print(f"Not compiled: {result.reason}")
        raise typer.Exit(1)
    _compiled(ref, result)


def _registered(version: Version) -> None:
    aliases = f" ({', '.join(version.aliases)})" if version.aliases else ""
    console.print(
        f"Registered [bold]{version.key}[/bold]{aliases}: {len(version.files)} files, "
        f"{version.size_bytes:,} bytes."
    )


def _compiled(source: object, result: Compilation) -> None:
    assert result.version is not None  # only called for a compiled version
    aliases = f" ({', '.join(result.version.aliases)})" if result.version.aliases else ""
    console.print(
        f"Compiled {source} to ONNX as [bold]{result.version.key}[/bold]{aliases}: {result.reason}"
    )


@models_app.command("list")
def list_models() -> None:
    """List models with their latest version and aliases."""
    with open_services() as services:
        models = services.registry.list_models()
    table = Table("model", "versions", "latest", "aliases", "created")
    for m in models:
        aliases = ", ".join(f"{a}→{n}" for a, n in m.aliases.items())
        table.add_row(
            m.name,
            str(m.version_count),
            str(m.latest),
            aliases,
            f"{m.created_at:%Y-%m-%d %H:%M} by {m.created_by}",
        )
    print_table(table, "No models yet. Register one with 'champion models register FOLDER'.")


@models_app.command("show")
def show(
    model: Annotated[str, typer.Argument(help="Model name, or a reference like recs@champion.")],
    version: Annotated[int | None, typer.Argument(help="Version number.")] = None,
    limit: Annotated[
        int, typer.Option(min=1, help="Show the newest LIMIT versions.")
    ] = LATEST_VERSIONS,
    show_all: Annotated[bool, typer.Option("--all", help="Show every version.")] = False,
    tag: Annotated[
        list[str] | None,
        typer.Option(help="Only versions with tag key:value (or key); repeatable."),
    ] = None,
    metric: Annotated[
        list[str] | None, typer.Option(help="Only versions whose metric passes, e.g. 'auc>0.8'.")
    ] = None,
) -> None:
    """Show a model's newest versions, or one version with its signature and lineage."""
    from champion.registry import MetricFilter, VersionFilter
    from champion.registry.listing import MAX_PAGE

    with open_services() as services:
        if "@" in model or "/" in model:
            _show_version(services.registry.resolve(model))
            return
        if version is not None:
            _show_version(services.registry.get_version(model, version))
            return
        flt = VersionFilter(
            tags=VersionFilter.parse_tags(tag or []),
            metrics=tuple(MetricFilter.parse(m) for m in metric or []),
        )
        total = services.registry.get_model(model).version_count
        shown: list[Version] = []
        cursor = None
        while True:  # page by page, so --all on 10^5 versions never holds one huge query
            want = MAX_PAGE if show_all else min(limit - len(shown), MAX_PAGE)
            page = services.registry.find_versions(model, flt, limit=want, cursor=cursor)
            shown += page.versions
            cursor = page.next_cursor
            if cursor is None or (not show_all and len(shown) >= limit):
                break
    table = Table("version", "kind", "flavor", "aliases", "created", "description")
    for v in shown:
        table.add_row(
            str(v.number),
            v.kind,
            v.flavor,
            ", ".join(v.aliases),
            f"{v.created_at:%Y-%m-%d %H:%M} by {v.created_by}",
            v.lineage.get("description", ""),
        )
    filtered = bool(tag or metric)
    print_table(
        table, f"No versions of {model} match." if filtered else f"No versions of {model} yet."
    )
    if cursor is not None:
        which = "matching versions" if filtered else f"{total:,} versions"
        console.print(f"The newest {len(shown):,} of {which}; --limit N or --all for more.")


@models_app.command("rm")
def remove(
    model: Annotated[str, typer.Argument(help="Model name, or a reference like recs/3.")],
    version: Annotated[int | None, typer.Argument(help="Version number.")] = None,
    reason: Annotated[str, typer.Option(help="Why, for the audit log.")] = "",
) -> None:
    """Delete a version: refused while an alias points at it or an endpoint serves it.

    Its number is never given again; its files that no other version shares are removed
    from the artifact store.
    """
    from champion.registry import VersionRef

    ref = VersionRef.parse(model if version is None else f"{model}/{version}")
    if ref.number is None:
        raise InvalidInput(
            f"Delete names a version by number (recs/3), got {model!r}; "
            "remove an alias with 'champion alias rm'."
        )
    with open_services() as services:
        deleted = services.registry.delete_version(
            ref.model, ref.number, actor=actor(), reason=reason
        )
    console.print(
        f"Deleted [bold]{deleted.key}[/bold]: {len(deleted.files)} files, "
        f"{deleted.size_bytes:,} bytes."
    )


def _show_version(version: Version) -> None:
    table = Table(show_header=False, title=str(version.key))
    table.add_row("kind / flavor", f"{version.kind} / {version.flavor}")
    table.add_row("aliases", ", ".join(version.aliases) or "-")
    table.add_row("created", f"{version.created_at:%Y-%m-%d %H:%M:%S} by {version.created_by}")
    inputs = version.manifest.get("signature", {}).get("inputs", [])
    table.add_row("inputs", ", ".join(f"{f['name']}: {f['type']}" for f in inputs) or "-")
    for key, value in version.lineage.items():
        if value not in ({}, "", None):
            table.add_row(key, str(value))
    for relative, sha in sorted(version.files.items()):
        table.add_row(f"file {relative}", sha[:16] + "…")
    console.print(table)


@alias_app.command("set")
def set_alias(
    model: str,
    alias: str,
    version: int,
    reason: Annotated[str, typer.Option(help="Why, for the audit log.")] = "",
) -> None:
    """Point MODEL@ALIAS at VERSION (running servers follow within a second)."""
    with open_services() as services:
        services.registry.set_alias(model, alias, version, actor=actor(), reason=reason)
    console.print(f"{model}@{alias} → {model}/{version}")


@alias_app.command("rm")
def remove_alias(
    model: str,
    alias: str,
    reason: Annotated[str, typer.Option(help="Why, for the audit log.")] = "",
) -> None:
    """Remove MODEL@ALIAS."""
    with open_services() as services:
        services.registry.remove_alias(model, alias, actor=actor(), reason=reason)
    console.print(f"Removed {model}@{alias}")
