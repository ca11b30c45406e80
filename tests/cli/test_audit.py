from __future__ import annotations

from datetime import UTC, datetime

import pytest

from champion.cli.audit import parse_time
from champion.errors import InvalidInput
from champion.services import Services
from tests.cli.conftest import CommandLine


def test_champion_audit_shows_who_did_what_and_why(served: Services, champion: CommandLine) -> None:
    served.registry.set_alias("churn", "champion", 1, actor="ana", reason="keep it")
    result = champion("audit", "--model", "churn", "--since", "1h", "--oldest-first")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "alias.set" in out and "ana" in out and "keep it" in out and "churn/1" in out
    assert "endpoint.configure" in out  # the endpoint serving churn@champion
    assert out.index("model.create") < out.index("alias.set")
    assert "recs/1" not in out
    result = champion("audit", "--since", "yesterday")
    assert result.returncode == 2 and "--since 'yesterday'" in result.stderr


def test_times_are_iso_or_an_age() -> None:
    now = datetime(2026, 5, 2, 12, tzinfo=UTC)
    assert parse_time("--since", "30m", now) == datetime(2026, 5, 2, 11, 30, tzinfo=UTC)
    assert parse_time("--since", "2026-05-01", now) == datetime(2026, 5, 1, tzinfo=UTC)
    with pytest.raises(InvalidInput, match="--until '5 days'"):
        parse_time("--until", "5 days", now)
