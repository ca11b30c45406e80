"""champion diagnose says that the package update check is off, and how to turn it on."""

from __future__ import annotations

from champion.services import Services
from tests.cli.conftest import CommandLine


def test_diagnose_says_the_update_check_is_off(served: Services, champion: CommandLine) -> None:
    result = champion("diagnose")
    assert result.returncode == 0, result.stderr
    assert "newer package versions is off: nothing leaves this machine" in result.text
    assert "CHAMPION_CHECK_UPDATES=true" in result.text
