"""How the command line behaves as a whole: exit codes, flags in --help, bad settings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from champion.cli.main import command
from champion.errors import ChampionError, error_class
from tests.cli.conftest import CommandLine


def _commands(cmd: object, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, sub in sorted(getattr(cmd, "commands", {}).items()):
        found += _commands(sub, (*path, name))
    return found


@pytest.mark.parametrize("database_url", [None], ids=["sqlite"])  # help reads no database
def test_no_flag_shows_a_type_placeholder_or_a_double_negation(champion: CommandLine) -> None:
    paths = _commands(command())
    assert ("endpoints", "list") in paths and ("experiment", "list") in paths
    for path in paths:
        shown = champion(*path, "--help")
        assert shown.returncode == 0, (path, shown.stderr)
        assert "<bool>" not in shown.stdout, path
        assert "--no-no-" not in shown.stdout, path
    help_text = champion("experiment", "set", "--help").stdout
    assert "--no-guardrails" in help_text


@pytest.mark.parametrize("database_url", [None], ids=["sqlite"])  # refused before it opens
@pytest.mark.parametrize("port", ["99999", "0", "-1"])
def test_a_port_outside_1_to_65535_is_refused_naming_the_flag(
    champion: CommandLine, port: str
) -> None:
    result = champion("server", "--port", port)
    assert result.returncode == 2
    assert "Invalid value for '--port'" in result.stderr and "Traceback" not in result.stderr


def test_a_bad_setting_names_its_variable(
    champion: CommandLine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAMPION_PORT", "99999")
    result = champion("server")
    assert result.returncode == 2
    assert re.search(
        r"CHAMPION_PORT='99999': Input should be less than or equal to 65535", result.stderr
    )
    assert "Traceback" not in result.stderr


def test_exit_code_2_is_for_what_the_user_can_fix_and_1_for_failures() -> None:
    from champion.cli.main import exit_code

    fixable = ["InvalidInput", "MalformedRequest", "NotFound", "Conflict", "Unauthenticated",
               "Forbidden", "UnknownName", "PayloadTooLarge"]  # fmt: skip
    failures = ["Unavailable", "ModelFailed", "InsufficientStorage", "MissingExtra"]
    for code in fixable:
        assert exit_code(error_class(code)("x")) == 2, code
    for code in failures:
        assert exit_code(error_class(code)("x")) == 1, code
    assert exit_code(ChampionError("x")) == 1


def test_an_unreachable_server_exits_1_and_says_so(champion: CommandLine) -> None:
    result = champion("predict", "churn", "--instances", "{}", "--url", "http://127.0.0.1:1")
    assert result.returncode == 1
    assert result.stderr.startswith("error: Cannot reach the server at http://127.0.0.1:1")


def test_a_missing_instances_file_is_a_clean_error(champion: CommandLine, tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    result = champion("predict", "churn", "--instances", f"@{missing}")
    assert result.returncode == 2
    assert f"cannot read '{missing}' (No such file or directory)" in result.stderr
    assert "Traceback" not in result.stderr
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    result = champion("predict", "churn", "--instances", f"@{broken}")
    assert result.returncode == 2 and "--instances is not valid JSON" in result.stderr


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (("models", "list"), "No models yet. Register one with 'champion models register FOLDER'."),
        (("endpoints", "list"), "No endpoints yet."),
        (("experiment", "list"), "No experiments yet."),
        (("experiment", "list", "--running"), "No experiment is running."),
        (("pipeline", "list"), "No pipelines yet."),
        (("alerts", "list"), "No alerts yet."),
        (("alerts", "list", "--state", "open"), "No alerts match."),
        (("alerts", "rules"), "No alert rules yet."),
        (("tokens", "list"), "No tokens yet"),
        (("audit",), "No audit records match."),
    ],
)
def test_an_empty_listing_is_one_sentence_and_no_output_starts_blank(
    champion: CommandLine, args: tuple[str, ...], sentence: str
) -> None:
    result = champion(*args)
    assert result.returncode == 0, result.stderr
    assert result.text.startswith(sentence), result.stdout
    assert "┃" not in result.stdout  # no header without rows
    assert result.stdout.strip() and not result.stdout.startswith("\n")
