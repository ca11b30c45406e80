"""The suite's one skip path: a missing service skips a test locally, and fails it in CI."""

from __future__ import annotations

import pytest

from tests.fixtures.environment import cannot


def test_a_missing_service_fails_the_test_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run this test: no PostgreSQL"):
        cannot("no PostgreSQL")


def test_a_missing_service_skips_the_test_locally_saying_which(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no PostgreSQL"):
        cannot("no PostgreSQL")
