from __future__ import annotations

import pytest

from champion.access import digest
from champion.services import Services
from champion.settings import Settings
from tests.cli.conftest import CommandLine
from tests.cli.test_cli import run_installed


def test_tokens_create_list_revoke_from_the_command_line(
    services: Services, champion: CommandLine
) -> None:
    created = champion("tokens", "create", "ci", "--scope", "predict", "--scope", "read")
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()  # the secret alone on stdout, for $(...)
    assert secret.startswith("champ_") and "printed below, once" in created.stderr
    [token] = services.tokens.list_tokens()
    assert token.scopes == {"predict", "read"} and services.tokens.active_hashes().keys() == {
        digest(secret)
    }
    listed = champion("tokens", "list")
    assert "ci" in listed.stdout and "predict, read" in listed.stdout
    assert secret not in listed.stdout
    assert champion("tokens", "revoke", "ci", "--reason", "rotated").returncode == 0
    assert services.tokens.active_hashes() == {}


# The database plays no part in what this checks: SQLite only, to keep the suite short.
@pytest.mark.parametrize("database_url", [None], ids=["sqlite"])
@pytest.mark.slow(seconds=3)
def test_the_server_refuses_to_bind_beyond_loopback_without_a_token(settings: Settings) -> None:
    result = run_installed(settings, "server", "--host", "0.0.0.0", "--port", "8000")
    assert result.returncode == 2
    assert (
        "Refusing to bind '0.0.0.0'" in result.stderr and "champion tokens create" in result.stderr
    )
