"""The champion command line. User errors exit with code 2 and one line, never a traceback."""

from __future__ import annotations

import sys

import typer
from pydantic import ValidationError

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
from champion.validation import describe_validation_error

__all__ = ["app", "main"]

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


def main() -> None:
    try:
        app(standalone_mode=False)
    except ChampionError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        sys.exit(2)
    except ValidationError as exc:
        if exc.title != "Settings":
            raise
        # A CHAMPION_* variable the settings refuse: name it, no traceback.
        print(f"error: invalid setting: {describe_validation_error(exc)}", file=sys.stderr)
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
