"""champion tokens create|list|revoke."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from champion.cli.common import actor, console, open_services, stderr
from champion.cli.render import print_table

__all__ = ["tokens_app"]

SCOPES = ("read", "predict", "feedback", "admin")
"""``champion.access.SCOPES``, shown by --help without importing access control (SQLAlchemy)
(tests/cli/test_defaults.py keeps the two equal)."""

tokens_app = typer.Typer(
    help="API tokens: scopes read, predict, feedback, admin; stored hashed.", no_args_is_help=True
)


@tokens_app.command("create")
def create(
    name: str,
    scope: Annotated[
        list[str] | None,
        typer.Option(help=f"Scope to grant ({', '.join(SCOPES)}); repeatable. Default: read."),
    ] = None,
) -> None:
    """Create token NAME and print its secret, once: champion stores only its sha256."""
    with open_services() as services:
        token, secret = services.tokens.create(name, scope or ["read"], actor=actor())
    stderr.print(
        f"Token [bold]{token.name}[/bold] ({', '.join(sorted(token.scopes))}) created. "
        "Its secret is printed below, once; keep it, e.g. export CHAMPION_TOKEN=..."
    )
    # The secret alone on stdout, so `export CHAMPION_TOKEN=$(champion tokens create ...)` works.
    print(secret)


@tokens_app.command("list")
def list_tokens() -> None:
    """List tokens with their scopes (never their secrets)."""
    with open_services() as services:
        tokens = services.tokens.list_tokens()
    table = Table("token", "scopes", "created", "revoked")
    for t in tokens:
        revoked = f"{t.revoked_at:%Y-%m-%d %H:%M} by {t.revoked_by}" if t.revoked_at else "-"
        table.add_row(
            t.name,
            ", ".join(sorted(t.scopes)),
            f"{t.created_at:%Y-%m-%d %H:%M} by {t.created_by}",
            revoked,
        )
    print_table(table, "No tokens yet: the server is open on loopback. Create one with "
                "'champion tokens create NAME'.")  # fmt: skip


@tokens_app.command("revoke")
def revoke(
    name: str,
    reason: Annotated[str, typer.Option(help="Why, for the audit log.")] = "",
) -> None:
    """Revoke token NAME for good (running servers refuse it within a second)."""
    with open_services() as services:
        services.tokens.revoke(name, actor=actor(), reason=reason)
    console.print(f"Revoked token {name}")
