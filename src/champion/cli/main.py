"""The champion command line: one line on stderr for an error, never a traceback.

Exit codes: 0 done; 2 the command cannot work as typed (a usage error, a bad value, an unknown
name, a request the server refused as invalid, unauthorised or conflicting): change the
command; 1 the command was right but something failed (the server is unreachable or failed,
a model failed, the disk is full, a missing extra): retry or fix the machine.
"""

from __future__ import annotations

import sys
from http import HTTPStatus
from typing import Any

import typer
from pydantic import ValidationError
from typer.core import TyperGroup, TyperOption

from champion.cli.admin import admin_app
from champion.cli.alerts import alerts_app
from champion.cli.audit import audit
from champion.cli.diagnose import diagnose
from champion.cli.drift import drift_app
from champion.cli.endpoints import endpoints_app
from champion.cli.experiments import experiment_app
from champion.cli.models import alias_app, models_app
from champion.cli.pipeline import ingest, pipeline_app
from champion.cli.predict import predict
from champion.cli.server import server
from champion.cli.tokens import tokens_app
from champion.errors import ChampionError
from champion.settings import Settings

__all__ = ["app", "command", "exit_code", "main"]

app = typer.Typer(
    name="champion",
    help="Registry, serving, rollouts, feedback and evaluation for ML models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(models_app, name="models")
app.add_typer(alias_app, name="alias")
app.add_typer(endpoints_app, name="endpoints")
app.add_typer(pipeline_app, name="pipeline")
app.command("ingest")(ingest)
app.command("diagnose")(diagnose)
app.add_typer(tokens_app, name="tokens")
app.add_typer(experiment_app, name="experiment")
app.add_typer(drift_app, name="drift")
app.add_typer(alerts_app, name="alerts")
app.add_typer(admin_app, name="admin")
app.command("predict")(predict)
app.command("audit")(audit)
app.command("server")(server)


@app.command("demo")
def demo(
    home: str = typer.Option(".champion-demo", help="Folder for the demo's state (recreated)."),
    data: str = typer.Option("data", help="Folder with movielens-latest-small and telco-churn."),
) -> None:
    """Run the end-to-end demo: train, register, serve, simulate users, summarise."""
    from champion.demo.run import run_demo

    run_demo(home=home, data=data)


def exit_code(error: ChampionError) -> int:
    """2 for what the user can fix in the command, 1 for a failure elsewhere (5xx)."""
    return 1 if error.status >= HTTPStatus.INTERNAL_SERVER_ERROR else 2


def command() -> Any:
    """The command behind ``app``, its flags shown without a type placeholder."""
    built = typer.main.get_command(app)
    _hide_flag_types(built, typer.Context(built))
    return built


def _hide_flag_types(cmd: Any, ctx: typer.Context) -> None:
    # Typer's help prints a flag's type as "<bool>" (--help, --json...), which reads as if
    # the flag wanted a value; an empty metavar prints nothing there.
    for param in [*cmd.params, cmd.get_help_option(ctx)]:
        if isinstance(param, TyperOption) and param.is_flag:
            param.metavar = ""
    if isinstance(cmd, TyperGroup):
        for sub in cmd.commands.values():
            _hide_flag_types(sub, typer.Context(sub, parent=ctx))


def main() -> None:
    try:
        code = command().main(prog_name="champion", standalone_mode=False)
        # Outside standalone mode click returns, not raises, the code of a typer.Exit.
        if isinstance(code, int) and code:
            sys.exit(code)
    except ChampionError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        sys.exit(exit_code(exc))
    except ValidationError as exc:
        if exc.title != Settings.__name__:
            raise
        print(f"error: {_settings_message(exc)}", file=sys.stderr)
        sys.exit(2)
    except typer.Abort:
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:
        # Usage errors (unknown command, bad option) come from typer's bundled click.
        show = getattr(exc, "show", None)
        if callable(show) and isinstance(getattr(exc, "exit_code", None), int):
            show()
            sys.exit(2)
        raise


def _settings_message(error: ValidationError) -> str:
    # Settings come from CHAMPION_* variables (or .env): name the variable a user sets.
    problems = [
        f"CHAMPION_{'_'.join(str(p) for p in e['loc']).upper()}={e.get('input')!r}: {e['msg']}"
        for e in error.errors()
    ]
    return "; ".join(problems) + "."
