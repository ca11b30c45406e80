"""The dashboard in Debian's Chromium (driven by Playwright), over a server fed real traffic."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from champion import Client
from champion.server_process import ServerProcess
from champion.services import Services
from champion.settings import Settings
from tests.conftest import ModelFolders

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"
ROW = {"tenure": 3, "charges": 12.5, "contract": "Month-to-month"}
# Each page, and the charts that must show data on it.
PAGES = {
    "overview": ("/", ["rate", "split", "answered"]),
    "endpoint-recs": ("/endpoints/recs", ["requests", "latency", "ctr", "interleaving", "ramp"]),
    "endpoint-churn": ("/endpoints/churn", ["requests", "latency", "ramp"]),
    "registry": ("/registry", ["metrics"]),
    "audit": ("/audit", []),
}


def _chromium() -> str:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(
                f"CI must run the browser tests: {CHROMIUM} is missing (.ci/run installs it)."
            )
        pytest.skip(f"Debian's Chromium is not installed at {CHROMIUM}: apt-get install chromium.")
    return CHROMIUM


def _traffic(client: Client) -> None:
    for i in range(30):
        answer = client.rank("recs", unit=f"user-{i}", k=3)
        shown = [item["item"] for item in answer["items"]]
        client.feedback_batch(
            [{"request_id": answer["request_id"], "kind": "click", "item": shown[i % 3]}]
        )
    for i in range(20):
        client.predict("churn", [ROW], unit=f"customer-{i}")


@pytest.fixture
def dashboard_server(
    settings: Settings, services: Services, model_folder: ModelFolders, tmp_path: Path
) -> Iterator[tuple[ServerProcess, str, str]]:
    """A server behind tokens: (server, an admin secret, a read-only secret)."""
    admin = services.tokens.create("ops", ["admin"], actor="tests")[1]
    viewer = services.tokens.create("viewer", ["read"], actor="tests")[1]
    register = services.registry.register
    register(model_folder("constant"), model="churn", actor="tests", aliases_to_set=("champion",))
    register(model_folder("constant"), model="churn", actor="tests", aliases_to_set=("challenger",))
    register(model_folder("echo_ranker"), model="recs", actor="tests", aliases_to_set=("champion",))
    other = tmp_path / "other_ranker"
    shutil.copytree(model_folder("echo_ranker"), other)
    (other / "items.txt").write_text("c b a d e")
    register(other, model="recs", actor="tests", aliases_to_set=("challenger",))
    services.endpoints.set("churn", "single", {"version": "churn@champion"}, actor="tests")
    canary = {"champion": "churn@champion", "challenger": "churn@challenger", "share": 0.3}
    services.endpoints.set("churn", "canary", canary, actor="ana", reason="ramp to 30%")
    pair = {"champion": "recs@champion", "challenger": "recs@challenger"}
    services.endpoints.set("recs", "interleave", pair, actor="ana", reason="compare rankers")
    server = ServerProcess(settings.home, settings.database_url)
    server.start()
    try:
        yield server, admin, viewer
    finally:
        server.stop()


UPDATED = "document.getElementById('status').textContent.startsWith('updated')"


def test_every_page_loads_without_console_errors_and_charts_show_traffic(
    dashboard_server: tuple[ServerProcess, str, str], database_url: str | None
) -> None:
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    server, admin, viewer = dashboard_server
    with Client(server.url, token=admin) as client:
        _traffic(client)
    ARTIFACTS.mkdir(exist_ok=True)
    backend = "postgres" if database_url else "sqlite"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            # Without a token the API answers 401 and the page asks for one, once.
            page.goto(server.url + "/")
            page.wait_for_selector("#token-form:not([hidden])")
            assert "requires a token" in page.inner_text("#status")
            page.fill("#token-input", viewer)
            page.click("#token-form button")
            page.wait_for_function(UPDATED)
            assert [e for e in errors if "401" not in e] == []
            errors.clear()
            for name, (path, charts) in PAGES.items():
                page.goto(server.url + path)
                page.wait_for_function(UPDATED)
                for chart in charts:
                    points = page.evaluate(
                        f"""() => (document.getElementById('{chart}').data || [])
                            .flatMap((t) => [...(t.y || []), ...(t.x || [])])
                            .filter((v) => typeof v === 'number' && v > 0).length"""
                    )
                    assert points > 0, f"{name}: chart {chart!r} shows no data"
                page.screenshot(
                    path=str(ARTIFACTS / f"dashboard-{backend}-{name}.png"), full_page=True
                )
                assert errors == [], f"{name}: {errors}"
                if name == "audit":
                    text = page.inner_text("#records")
                    assert "endpoint.configure" in text and "ramp to 30%" in text
                    assert "token.create" in text

            # The overview refreshes in place: new traffic shows up without a page load.
            page.goto(server.url + "/")
            page.wait_for_function(UPDATED)
            page.evaluate("window.notReloaded = true")
            with Client(server.url, token=admin) as client:
                client.set_endpoint("recs", "single", {"version": "recs@challenger"}, reason="done")
            switched = "recs@challenger 100.0%"
            page.wait_for_function(
                f"document.getElementById('endpoints').textContent.includes({switched!r})",
                timeout=15_000,
            )
            assert page.evaluate("window.notReloaded") is True
            assert errors == []
        finally:
            browser.close()
