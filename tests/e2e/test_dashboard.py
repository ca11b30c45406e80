"""The dashboard in Debian's Chromium (driven by Playwright), over a server fed real traffic.

One server per database serves the whole visit, in a 1280 px wide window: every page loads
without a console error, fits the window (nothing scrolls sideways) and its charts draw data;
each endpoint's page shows the panels of its kind and policy only; the shadow panel's numbers
are the API's; the experiment's buttons approve, promote and roll back, which the API, the
ramp chart, the drift page and the audit page then show; the overview follows a change
without a reload.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from champion.services import Services
from tests.conftest import ModelFolders
from tests.e2e.dashboard_world import WAVE_SECONDS, World, build_world, wait_for
from tests.fixtures.environment import cannot

ONE_DATABASE = (
    "The browser sees the same pages whichever database the server uses, and every route these "
    "pages read is tested on both databases in tests/api."
)

if TYPE_CHECKING:
    from playwright.sync_api import ConsoleMessage, Page


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
    "endpoint-scores": ("/endpoints/scores", ["requests", "latency"]),
    "drift-churn": (DRIFT, ["heatmap", "distribution", "estimated", "performance"]),
    "drift-recs": ("/endpoints/recs/drift", ["ranking-items", "ranking-ctr"]),
    "registry": ("/registry", ["metrics"]),
    "alerts": ("/alerts", ["timeline"]),
    "pipelines": ("/pipelines", ["steps-attrition-retrain", "files-customers"]),
    "audit": ("/audit", []),
}  # fmt: skip
# Panels shown (True) and not shown (False) on each endpoint's page, by kind and policy.
PANELS = {
    "endpoint-churn": {"ctr-section": False, "interleaving-section": False,
                       "shadow-section": False, "ramp-section": True},  # a classifier's canary
    "endpoint-recs": {"ctr-section": True, "interleaving-section": True,
                      "shadow-section": False, "ramp-section": True},  # rankers interleaved
    "endpoint-scores": {"ctr-section": False, "interleaving-section": False,
                        "shadow-section": True, "ramp-section": False},  # a classifier's shadow
    "drift-recs": {"heatmap-section": False, "columns-grid": False, "estimated-section": False,
                   "performance-section": False, "ranking-section": True, "ranking-grid": True,
                   "ranking-positions-section": True, "ranking-context-section": True},
}  # fmt: skip
WIDTH = 1280
# Elements wider than their box (they would scroll sideways), outside Plotly's own drawing.
TOO_WIDE = """() => [...document.querySelectorAll("body *")]
    .filter((e) => e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 0
                   && !e.closest(".js-plotly-plot") && getComputedStyle(e).overflowX !== "visible")
    .map((e) => `${e.tagName.toLowerCase()}#${e.id}: ${e.scrollWidth} px in ${e.clientWidth} px`)"""
# Waits by locator: the pages' policy refuses the eval behind a wait_for_function string.
UPDATED = "#status:text-matches('^updated')"
# Numbers above 0 a chart draws: its traces' x, y and (heatmaps) z values.
DRAWN = """(id) => (document.getElementById(id).data || [])
    .flatMap((t) => [...(t.y || []), ...(t.x || []), ...(t.z || []).flat()])
    .filter((v) => typeof v === 'number' && v > 0).length"""


def _chromium() -> str:
    if not Path(CHROMIUM).exists():
        cannot(f"Debian's Chromium is not installed at {CHROMIUM}: apt-get install chromium.")
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
    stats: list[str] = []  # the /stats calls a page makes
    page.on("request", lambda r: stats.append(r.url) if "/stats" in r.url else None)
    for name, (path, charts) in PAGES.items():
        stats.clear()
        _visit(page, world.server.url + path)
        if name.startswith("endpoint-"):
            # One call for the whole history, one for the chart's windows (not one a window).
            assert len(stats) == 2 and sum("buckets=20" in url for url in stats) == 1, stats
        for chart in charts:
            assert page.evaluate(DRAWN, chart) > 0, f"{name}: chart {chart!r} shows no data"
        page.screenshot(path=str(ARTIFACTS / f"dashboard-{backend}-{name}.png"), full_page=True)
        assert errors == [], f"{name}: {errors}"
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH, name
        assert page.evaluate(TOO_WIDE) == [], name
        for panel, shown in PANELS.get(name, {}).items():
            assert page.is_visible(f"#{panel}") == shown, f"{name}: #{panel} shown: {not shown}"
        text = page.inner_text("main")
        if name == "overview":
            assert "churn-drift" in text and "waiting for approval: ramp" in text
        if name == "endpoint-churn":
            assert "failed requests since the server started: none" in text
        if name == "endpoint-scores":
            _shadow_numbers_are_the_apis(page, world)
        if name == "drift-churn":
            assert "Reference: churn/1, the version serving now." in text
            assert "drift" in page.inner_text("#columns")
            assert "Calibrated on 2000 labelled reference rows" in page.inner_text(
                "#estimated-note"
            )
        if name == "drift-recs":
            assert "served no prediction" not in text
            assert "rankers have no reference profile" not in text
            _ranking_numbers_are_the_apis(page, world)
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


# A table's column headings, and each row of it: its cells' text.
HEADINGS = """(id) => [...document.querySelectorAll(`#${id} thead th`)]
    .map((cell) => cell.textContent)"""
ROWS = """(id) => [...document.querySelectorAll(`#${id} tbody tr`)]
    .map((row) => [...row.cells].map((cell) => cell.textContent))"""


def _versions_match_the_interleaving(page: Page, world: World) -> None:
    """Under interleaving each version's clicks are those on the items it placed: the
    versions table shows the interleaving comparison's clicks, not all of them on one."""
    with world.client() as client:
        [comparison] = client.interleaving("recs")
    headings = page.evaluate(HEADINGS, "versions")
    clicks = headings.index("clicks")
    shown = {row[0].split(" · ")[0]: row[clicks] for row in page.evaluate(ROWS, "versions")}
    assert shown == {version: str(clicks) for version, clicks in comparison.clicks.items()}
    assert all(int(clicks) > 0 for clicks in shown.values())


def _ranking_numbers_are_the_apis(page: Page, world: World) -> None:
    """A ranker's drift page shows the ranking monitor's numbers over its span (24 windows
    of 1 h): per version the impressions, users, distinct items, coverage and click-through;
    each context says why there is no context drift (no reference of its inputs)."""
    with world.client() as client:
        body = client.ranking_monitor("recs", window="1d", buckets=24).model_dump()
    rows = {row[0]: row for row in page.evaluate(ROWS, "ranking-versions")}
    headings = page.evaluate(HEADINGS, "ranking-versions")
    assert set(rows) == {"window before"} | {v["version"] for v in body["versions"]}
    assert {v["version"] for v in body["versions"]} == {"recs/1", "recs/2"}
    for version in body["versions"]:
        row = dict(zip(headings, rows[version["version"]], strict=True))
        assert row["impressions"] == _number(version["impressions"], 0)
        assert row["users"] == _number(version["units"], 0)
        assert row["distinct items"] == _number(version["distinct_items"], 0)
        assert row["coverage"] == _percent(version["coverage"])
        assert row["exposure Gini"] == _number(version["gini"], 3)
    assert sum(v["impressions"] for v in body["versions"]) == 30 * 3
    positions = page.evaluate(ROWS, "ranking-positions")
    for version in body["versions"]:
        overall = version["click_through"]
        [row] = [r for r in positions if r[0] == version["version"] and r[1] == "all"]
        assert row[2:5] == [_number(overall["impressions"], 0), _number(overall["clicked"], 0),
                            _percent(overall["ctr"])]  # fmt: skip
    context = page.inner_text("#ranking-context")
    assert "Version recs/1 has no reference profile of its context inputs" in context


def _shadow_numbers_are_the_apis(page: Page, world: World) -> None:
    """The shadow panel shows /stats's shadow numbers: requests scored, failures, agreement,
    labelled requests, each version's latency and label metrics."""
    with world.client() as client:
        [shadow] = client.stats("scores").model_dump()["shadows"]
    cards = page.evaluate(CARDS, "shadow")
    assert cards == {
        "requests": str(shadow["requests"]),
        "errors": str(shadow["errors"]),
        "agreement": _percent(shadow["agreement"]),
        "difference": _number(shadow["mean_abs_difference"], 4),
        "labels": str(shadow["labels"]),
    }
    assert (shadow["requests"], shadow["errors"], shadow["labels"]) == (40, 0, 30)
    assert 0 < shadow["agreement"] < 1  # churn/3's risk falls later in tenure: some differ
    served, logged = page.evaluate(ROWS_OF, "shadow")
    assert served[:4] == ["churn/1", "champion (answers)",
                          _number(shadow["served_latency_p50_ms"], 2),
                          _number(shadow["served_latency_p99_ms"], 2)]  # fmt: skip
    assert logged[:4] == ["churn/3", "shadow (logged only)",
                          _number(shadow["latency_p50_ms"], 2),
                          _number(shadow["latency_p99_ms"], 2)]  # fmt: skip
    assert served[4] == _number(shadow["served_metrics"]["auc"], 4)
    assert logged[4] == _number(shadow["metrics"]["auc"], 4)


def _percent(share: float) -> str:
    """As the dashboard writes a share: JavaScript's toFixed(1) rounds the double's exact value,
    a tie up (31.25 is 31.3 %), where Python's format rounds a tie to even."""
    rounded = Decimal(100 * share).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{rounded}%"


def _number(value: float, digits: int) -> str:
    """As the dashboard writes a number (toLocaleString, en-US, at most ``digits`` decimals)."""
    rounded = Decimal(repr(value)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    text = f"{rounded:,.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# The challenger's share of units now, as the ramp chart draws it.
RAMP_NOW = "() => document.getElementById('ramp').data[0].y.at(-1)"
# The shadow panel's numbers by name, and its table's rows.
CARDS = """(id) => Object.fromEntries([...document.querySelectorAll(`#${id} [data-number]`)]
    .map((card) => [card.dataset.number, card.querySelector(".value").textContent]))"""
ROWS_OF = """(id) => [...document.querySelectorAll(`#${id} tbody tr`)]
    .map((row) => [...row.cells].map((cell) => cell.textContent))"""


def record_errors(page: Page, errors: list[str]) -> None:
    """Append each console error and uncaught exception of ``page`` to ``errors``; a failed
    load names its URL (the browser's own text does not)."""

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            url = message.location.get("url")
            errors.append(f"{message.text} [{url}]" if url else message.text)

    page.on("console", console)
    page.on("pageerror", lambda e: errors.append(str(e)))


def _missing_endpoint(page: Page, world: World, errors: list[str]) -> None:
    """With tokens the page's shell cannot tell who asks; its script says there is none."""
    page.goto(world.server.url + "/endpoints/nope")
    page.wait_for_selector("#missing")
    assert "Unknown endpoint 'nope'" in page.inner_text("#missing")
    assert not page.is_visible("#requests")
    # The page's other reads of the endpoint (its stats) may answer after that: let them
    # end (the page asks nothing more), then forget the API's 404s, which the page reported
    # as the missing endpoint.
    page.wait_for_load_state("networkidle")
    errors.clear()


def _act(page: Page, world: World, action: str, reason: str) -> dict[str, Any]:
    """Press an experiment button, confirm with a reason; the experiment as the API says."""
    page.wait_for_selector(f"#{action}:enabled", timeout=15_000)
    page.click(f"#{action}")
    page.wait_for_selector("#confirm[open]")
    page.fill("#confirm-reason", reason)
    page.click("#confirm-button")
    page.wait_for_selector("#confirm[open]", state="detached")
    with world.client() as client:
        experiment: dict[str, Any] = client.get_experiment("churn").model_dump()
    return experiment


def _buttons(page: Page, world: World, errors: list[str], backend: str) -> None:
    _visit(page, world.server.url + "/endpoints/churn")
    page.wait_for_selector("#approve:enabled", timeout=15_000)
    page.click("#approve")
    page.wait_for_selector("#confirm[open]")
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{backend}-confirm.png"))
    page.click("#confirm button[value=cancel]")
    with world.client() as client:
        assert client.get_experiment("churn").share == 0.5  # cancelled: nothing changed
    ramped = _act(page, world, "approve", "ramp looks healthy")
    assert (ramped["share"], ramped["pending"], ramped["status"]) == (0.75, None, "running")
    promoted = _act(page, world, "promote", "clicks are up")
    assert promoted["status"] == "promoted"
    page.wait_for_selector("#experiment-status:text-is('promoted')")
    # The challenger now has every unit: the ramp ends at 100 %, not back at 0 %.
    wait_for("the ramp at 100 %", lambda: page.evaluate(RAMP_NOW) == 1, seconds=15)
    # The drift page judges the new champion's reference from now on.
    _visit(page, world.server.url + "/endpoints/churn/drift")
    assert "Reference: churn/2, the version serving now." in page.inner_text("#summary")
    _visit(page, world.server.url + "/endpoints/churn")
    undone = _act(page, world, "rollback", "undo for now")
    assert undone["status"] == "rolled_back"
    with world.client() as client:
        endpoint = client.get_endpoint("churn")
    assert (endpoint.policy, endpoint.params["live"]) == ("blue_green", "blue")
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
            page = browser.new_page(viewport={"width": WIDTH, "height": 1000})
            errors: list[str] = []
            record_errors(page, errors)
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
            _missing_endpoint(page, world, errors)
            # The buttons need the admin scope: the page holds the token it was given.
            page.evaluate(f"window.localStorage.setItem('champion.token', {world.admin!r})")
            _buttons(page, world, errors, backend)
            _refreshes_in_place(page, world, errors)
        finally:
            browser.close()
