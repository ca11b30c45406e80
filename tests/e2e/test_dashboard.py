"""The dashboard in Debian's Chromium (driven by Playwright), over a server fed real traffic.

One server per database serves the whole visit: every page loads without a console error
and its charts draw data; the experiment's buttons approve, promote and roll back, which
the API and the audit page then show; the overview follows a change without a reload.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from champion.services import Services
from tests.conftest import ModelFolders
from tests.e2e.dashboard_world import WAVE_SECONDS, World, build_world

if TYPE_CHECKING:
    from playwright.sync_api import Page

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
DRIFT = f"/endpoints/churn/drift?window={WAVE_SECONDS}s&buckets=40"
# Each page, and the charts that must show data on it.
PAGES = {
    "overview": ("/", ["rate", "split", "answered"]),
    "endpoint-churn": ("/endpoints/churn", ["requests", "latency", "ramp", "goal-arms",
                                            "goal-effect"]),
    "endpoint-recs": ("/endpoints/recs", ["requests", "latency", "ctr", "interleaving", "ramp",
                                          "goal-arms", "goal-effect"]),
    "drift-churn": (DRIFT, ["heatmap", "distribution", "performance"]),
    "registry": ("/registry", ["metrics"]),
    "alerts": ("/alerts", ["timeline"]),
    "pipelines": ("/pipelines", ["steps-attrition-retrain", "files-customers"]),
    "audit": ("/audit", []),
}  # fmt: skip
# Waits by locator: the pages' policy refuses the eval behind a wait_for_function string.
UPDATED = "#status:text-matches('^updated')"
# Numbers above 0 a chart draws: its traces' x, y and (heatmaps) z values.
DRAWN = """(id) => (document.getElementById(id).data || [])
    .flatMap((t) => [...(t.y || []), ...(t.x || []), ...(t.z || []).flat()])
    .filter((v) => typeof v === 'number' && v > 0).length"""


def _chromium() -> str:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(
                f"CI must run the browser tests: {CHROMIUM} is missing (.ci/run installs it)."
            )
        pytest.skip(f"Debian's Chromium is not installed at {CHROMIUM}: apt-get install chromium.")
    return CHROMIUM


@pytest.fixture
def world(
    services: Services, model_folder: ModelFolders, tmp_path: Path, database_url: str | None
) -> Iterator[World]:
    built = build_world(services, model_folder, tmp_path, database_url)
    try:
        yield built
    finally:
        built.server.stop()


def _visit(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector(UPDATED)


def _every_page(page: Page, world: World, errors: list[str], backend: str) -> None:
    for name, (path, charts) in PAGES.items():
        _visit(page, world.server.url + path)
        for chart in charts:
            assert page.evaluate(DRAWN, chart) > 0, f"{name}: chart {chart!r} shows no data"
        page.screenshot(path=str(ARTIFACTS / f"dashboard-{backend}-{name}.png"), full_page=True)
        assert errors == [], f"{name}: {errors}"
        text = page.inner_text("main")
        if name == "overview":
            assert "churn-drift" in text and "waiting for approval: ramp" in text
        if name == "drift-churn":
            assert "version churn/" in text and "drift" in page.inner_text("#columns")
        if name == "alerts":
            assert "resolved" in page.inner_text("#history")
            assert "predictions over 4s is above 0" in page.inner_text("#rules")
        if name == "pipelines":
            assert page.locator("#runs .slow").count() >= 2  # one slowest step per run
            assert "tenure: 'three' is not an integer" in text
        if name == "audit":
            assert "experiment.start" in text and "try the new scorer" in text
        if name == "endpoint-recs":
            _versions_match_the_interleaving(page, world)


# Each row of the per-version table: its cells' text.
ROWS = """(id) => [...document.querySelectorAll(`#${id} tbody tr`)]
    .map((row) => [...row.cells].map((cell) => cell.textContent))"""


def _versions_match_the_interleaving(page: Page, world: World) -> None:
    """Under interleaving each version's clicks are those on the items it placed: the
    versions table shows the interleaving comparison's clicks, not all of them on one."""
    with world.client() as client:
        [pair] = client.interleaving("recs")
    shown = {row[0].split(" · ")[0]: row[5] for row in page.evaluate(ROWS, "versions")}
    assert shown == {version: str(clicks) for version, clicks in pair["clicks"].items()}
    assert all(int(clicks) > 0 for clicks in shown.values())


def _act(page: Page, world: World, action: str, reason: str) -> dict[str, Any]:
    """Press an experiment button, confirm with a reason; the experiment as the API says."""
    page.wait_for_selector(f"#{action}:enabled", timeout=15_000)
    page.click(f"#{action}")
    page.wait_for_selector("#confirm[open]")
    page.fill("#confirm-reason", reason)
    page.click("#confirm-button")
    page.wait_for_selector("#confirm[open]", state="detached")
    with world.client() as client:
        experiment: dict[str, Any] = client.get_experiment("churn")
    return experiment


def _buttons(page: Page, world: World, errors: list[str], backend: str) -> None:
    _visit(page, world.server.url + "/endpoints/churn")
    page.wait_for_selector("#approve:enabled", timeout=15_000)
    page.click("#approve")
    page.wait_for_selector("#confirm[open]")
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{backend}-confirm.png"))
    page.click("#confirm button[value=cancel]")
    with world.client() as client:
        assert client.get_experiment("churn")["share"] == 0.5  # cancelled: nothing changed
    ramped = _act(page, world, "approve", "ramp looks healthy")
    assert (ramped["share"], ramped["pending"], ramped["status"]) == (0.75, None, "running")
    promoted = _act(page, world, "promote", "clicks are up")
    assert promoted["status"] == "promoted"
    page.wait_for_selector("#experiment-status:text-is('promoted')")
    undone = _act(page, world, "rollback", "undo for now")
    assert undone["status"] == "rolled_back"
    with world.client() as client:
        endpoint = client.get_endpoint("churn")
    assert (endpoint["policy"], endpoint["params"]["live"]) == ("blue_green", "blue")
    _visit(page, world.server.url + "/audit")
    text = page.inner_text("#records")
    for action, reason in [
        ("experiment.ramp", "ramp looks healthy"),
        ("experiment.promote", "clicks are up"),
        ("experiment.rollback", "undo for now"),
    ]:
        assert action in text and reason in text, action
    assert "ops" in text  # the admin token's name is the actor
    assert errors == []


def _refreshes_in_place(page: Page, world: World, errors: list[str]) -> None:
    _visit(page, world.server.url + "/")
    page.evaluate("window.notReloaded = true")
    with world.client() as client:
        client.set_endpoint("recs", "single", {"version": "recs@challenger"}, reason="done")
    switched = "recs@challenger 100.0%"
    page.wait_for_selector(f"#endpoints:has-text({switched!r})", timeout=15_000)
    assert page.evaluate("window.notReloaded") is True
    assert errors == []


@pytest.mark.slow(seconds=25)
def test_the_dashboard_shows_every_page_acts_and_refreshes(
    world: World, database_url: str | None
) -> None:
    from playwright.sync_api import sync_playwright

    executable = _chromium()
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
            page.goto(world.server.url + "/")
            page.wait_for_selector("#token-form:not([hidden])")
            assert "requires a token" in page.inner_text("#status")
            page.fill("#token-input", world.viewer)
            page.click("#token-form button")
            page.wait_for_selector(UPDATED)
            assert [e for e in errors if "401" not in e] == []
            errors.clear()
            _every_page(page, world, errors, backend)
            # The buttons need the admin scope: the page holds the token it was given.
            page.evaluate(f"window.localStorage.setItem('champion.token', {world.admin!r})")
            _buttons(page, world, errors, backend)
            _refreshes_in_place(page, world, errors)
        finally:
            browser.close()
