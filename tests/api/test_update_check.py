"""Nothing leaves the machine unless the operator turns the package update check on."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from champion.diagnostics.report import diagnose
from champion.services import Services
from champion.settings import Settings


class IndexRecorder:
    """A package index behind httpx's transport seam, remembering every request it got."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.transport = httpx.MockTransport(self._answer)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        self.asked.append(request.url.path)
        return httpx.Response(200, json={"info": {"version": "99.0"}})


def _packages(report: dict[str, object]) -> dict[str, dict[str, object]]:
    versions = report["dependencies"]["versions"]  # type: ignore[index]  # JSON of diagnose
    return {p["package"]: p for v in versions for p in v["packages"]}


def test_by_default_no_package_index_is_asked(served: Services) -> None:
    index = IndexRecorder()
    report = diagnose(served, transport=index.transport)
    assert index.asked == []
    assert _packages(report)["numpy"]["newest"] == "unknown"
    check = report["dependencies"]["update_check"]
    assert check["enabled"] is False
    assert "CHAMPION_CHECK_UPDATES=true" in check["message"]


def test_the_check_asks_the_index_once_turned_on(served: Services, settings: Settings) -> None:
    index = IndexRecorder()
    turned_on = Services.open(settings.model_copy(update={"check_updates": True}))
    try:
        report = diagnose(turned_on, transport=index.transport)
    finally:
        turned_on.close()
    assert "/pypi/numpy/json" in index.asked
    assert _packages(report)["numpy"]["newest"] == "99.0"
    assert report["dependencies"]["update_check"]["enabled"] is True


def test_the_server_says_the_check_is_off(served: Services, client: TestClient) -> None:
    # The default index URL is the public one: a look-up would show as a real version number.
    report = client.get("/v1/diagnostics").json()
    assert report["dependencies"]["update_check"]["enabled"] is False
    assert {p["newest"] for p in _packages(report).values()} == {"unknown"}
    assert 'id="update-check"' in client.get("/pipelines").text


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAMPION_CHECK_UPDATES", "true")
    assert Settings().check_updates is True
    monkeypatch.delenv("CHAMPION_CHECK_UPDATES")
    assert Settings().check_updates is False
