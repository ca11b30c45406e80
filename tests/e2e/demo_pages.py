"""The dashboard over the demo's own home: every page, in Chromium at 1280 px, shows what the
API answers for the same records, and the records are what the demo did.

A page's numbers are read from what it drew (table cells, summaries); the API's from the
route the page calls, asked again by the test, or from the answer the page itself received
where the answer depends on the moment (the drift page's windows end "now"). Each number
compared is listed in ``test-artifacts/demo-pages.txt``, beside a screenshot of each page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from champion.server_process import ServerProcess
from tests.e2e.test_dashboard import (
    ARTIFACTS,
    FLAGS,
    ROWS,
    TOO_WIDE,
    UPDATED,
    WIDTH,
    _number,
    record_errors,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

HEADINGS = """(id) => [...document.querySelectorAll(`#${id} thead th`)]
    .map((cell) => cell.textContent)"""
DASH = "\u2013"
"""What the dashboard shows for nothing (an en dash)."""
# Nothing may change the records while the pages are read.
QUIET = {"CHAMPION_CONTROLLER": "false", "CHAMPION_SCHEDULER": "false"}


@dataclass
class Checked:
    """Each comparison made: the page, what was compared, and the value both showed."""

    lines: list[str] = field(default_factory=list)

    def same(self, page: str, what: str, shown: object, expected: object) -> None:
        assert shown == expected, f"{page}: {what}: the page shows {shown!r}, expected {expected!r}"
        self.lines.append(f"{page}\t{what}\t{shown}")

    def says(self, page: str, what: str, text: str, expected: str) -> None:
        assert expected in text, f"{page}: {what}: {expected!r} is not in {text!r}"
        self.lines.append(f"{page}\t{what}\t{expected}")


def _shown(value: float | None, digits: int) -> str:
    """A number as the dashboard writes it; nothing is a dash."""
    return DASH if value is None else _number(value, digits)


def _table(page: Page, table: str) -> list[dict[str, str]]:
    headings: list[str] = page.evaluate(HEADINGS, table)
    return [dict(zip(headings, row, strict=True)) for row in page.evaluate(ROWS, table)]


def _visit(page: Page, url: str, name: str) -> None:
    page.goto(url)
    page.wait_for_selector(UPDATED, timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / f"demo-{name}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH, name
    assert page.evaluate(TOO_WIDE) == [], name


def check_demo_pages(home: Path, chromium: str) -> list[str]:
    """Serve ``home`` (the demo's, finished) and read every page; the comparisons made."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    checked = Checked()
    server = ServerProcess(home, env=QUIET)
    server.start()
    try:
        with (
            httpx.Client(
                base_url=server.url, headers={"X-Champion-Request": "1"}, timeout=60
            ) as api,
            sync_playwright() as playwright,
        ):
            browser = playwright.chromium.launch(executable_path=chromium, args=FLAGS)
            try:
                page = browser.new_page(viewport={"width": WIDTH, "height": 1000})
                errors: list[str] = []
                record_errors(page, errors)
                _overview(page, server.url, api, checked)
                for endpoint in ("recs", "attrition", "recs-pipeline"):
                    _endpoint(page, server.url, api, endpoint, checked)
                _stages(page, server.url, api, checked)
                _drift(page, server.url, api, checked)
                _registry(page, server.url, api, checked)
                _alerts(page, server.url, api, checked)
                _pipelines(page, server.url, api, checked)
                _audit(page, server.url, api, checked)
                assert errors == [], errors
            finally:
                browser.close()
    finally:
        server.stop()
    (ARTIFACTS / "demo-pages.txt").write_text("\n".join(checked.lines) + "\n")
    return checked.lines


def _overview(page: Page, url: str, api: httpx.Client, checked: Checked) -> None:
    _visit(page, url + "/", "overview")
    rows = {row["endpoint"]: row for row in _table(page, "endpoints")}
    endpoints = api.get("/v1/endpoints").json()["endpoints"]
    checked.same("overview", "endpoints", sorted(rows), sorted(e["name"] for e in endpoints))
    for endpoint in endpoints:
        row = rows[endpoint["name"]]
        checked.same("overview", f"{endpoint['name']} policy", row["policy"], endpoint["policy"])
        serving = ", ".join(endpoint["serving"])
        checked.same("overview", f"{endpoint['name']} serving", row["serving"], serving)


def _endpoint(page: Page, url: str, api: httpx.Client, endpoint: str, checked: Checked) -> None:
    name = f"endpoint-{endpoint}"
    _visit(page, f"{url}/endpoints/{endpoint}", name)
    stats = api.get(f"/v1/endpoints/{endpoint}/stats").json()
    shown = {row["version · arm"]: row for row in _table(page, "versions")}
    expected = {f"{r['model']}/{r['version']} · {r['arm']}": r for r in stats["versions"]}
    checked.same(name, "versions and arms", sorted(shown), sorted(expected))
    columns = ["requests", "units", "fallbacks", "clicks", "purchases"]
    columns += ["impressions"] if endpoint.startswith("recs") else ["labels"]
    for row_name, row in expected.items():
        for column in columns:
            checked.same(name, f"{row_name} {column}", shown[row_name][column], str(row[column]))
        p99 = _shown(row["latency_p99_ms"], 2)
        checked.same(name, f"{row_name} p99 ms", shown[row_name]["p99 ms"], p99)
    history = api.get(f"/v1/endpoints/{endpoint}/history").json()["history"]
    configs = [row["config"] for row in _table(page, "history")]
    expected_configs = [str(c["config_version"]) for c in reversed(history)]
    checked.same(name, "configurations, newest first", configs, expected_configs)
    experiment = api.get(f"/v1/endpoints/{endpoint}/experiment").json()
    status = page.inner_text("#experiment-status")
    checked.same(name, "experiment status", status, experiment["status"].replace("_", " "))
    if stats.get("shadows"):
        _shadow(page, name, stats["shadows"], checked)


def _stages(page: Page, url: str, api: httpx.Client, checked: Checked) -> None:
    """The pipeline endpoint's stages panel: each stage's answering versions with their
    latency and fallbacks as the stages route answers, and its drift as the page was told."""
    name = "endpoint-recs-pipeline"
    moves: list[dict[str, Any]] = []
    page.on(
        "response",
        lambda r: moves.append(r.json()) if "/drift/stages" in r.url and r.ok else None,
    )
    _visit(page, f"{url}/endpoints/recs-pipeline", name)
    described = api.get("/v1/endpoints/recs-pipeline").json()["stages"]
    stats = api.get("/v1/endpoints/recs-pipeline/stages").json()["stages"]
    rows = _table(page, "stages")
    stage, by_stage = "", dict[str, list[dict[str, str]]]()
    for row in rows:  # a stage's own cells are on its first row
        stage = row["stage"] or stage
        by_stage.setdefault(stage, []).append(row)
    checked.same(name, "stages", list(by_stage), [s["stage"] for s in described])
    moved = {m["stage"]: m for m in moves[-1]["stages"]}
    for configured, numbers in zip(described, stats, strict=True):
        shown = by_stage[configured["stage"]]
        what = configured["stage"]
        checked.same(name, f"{what} policy", shown[0]["policy"], configured["policy"])
        answered = [v for v in numbers["versions"] if v["requests"]]
        expected = [f"{v['model']}/{v['version']} · {v['arm']}" for v in answered]
        checked.same(
            name, f"{what} versions answering", [r["version · arm"] for r in shown], expected
        )
        for row, version in zip(shown, answered, strict=True):
            label = f"{what} {row['version · arm']}"
            checked.same(name, f"{label} requests", row["requests"], str(version["requests"]))
            for column, key in (("p50 ms", "latency_p50_ms"), ("p99 ms", "latency_p99_ms")):
                checked.same(name, f"{label} {column}", row[column], _shown(version[key], 2))
            checked.same(name, f"{label} fallbacks", row["fallbacks"], str(version["fallbacks"]))
        move = moved[configured["stage"]]
        if move["began"]:
            began = f"{move['began'][0]['version']} began to answer"
            checked.says(name, f"{what} drift", shown[0]["drift"], began)
        else:
            checked.says(name, f"{what} drift", shown[0]["drift"], "no new version")
    first = moves[-1]["moved_first"]
    sentence = page.inner_text("#stages-moved")
    checked.says(name, "moved first", sentence, f": {first}." if first else "No stage moved")


def _shadow(page: Page, name: str, shadows: list[dict[str, Any]], checked: Checked) -> None:
    rows = {row["version"]: row for row in _table(page, "shadow")}
    for shadow in shadows:
        served = f"{shadow['served_model']}/{shadow['served_version']}"
        logged = f"{shadow['model']}/{shadow['version']}"
        for version, prefix, metrics in (
            (served, "served_", shadow["served_metrics"]),
            (logged, "", shadow["metrics"]),
        ):
            p50 = _shown(shadow[f"{prefix}latency_p50_ms"], 2)
            checked.same(name, f"shadow {version} p50 ms", rows[version]["p50 ms"], p50)
            auc = _shown(metrics.get("auc"), 4)
            checked.same(name, f"shadow {version} auc", rows[version]["auc on labels"], auc)


def _drift(page: Page, url: str, api: httpx.Client, checked: Checked) -> None:
    # The page's windows end when it asks: compare with the answer it received.
    answers: list[dict[str, Any]] = []
    page.on(
        "response",
        lambda r: answers.append(r.json()) if "/drift/timeline" in r.url and r.ok else None,
    )
    _visit(page, f"{url}/endpoints/attrition/drift", "drift-attrition")
    timeline = answers[-1]
    champion = api.get("/v1/models/attrition").json()["aliases"]["champion"]
    summary = page.inner_text("#summary")
    reference = f"Reference: attrition/{champion}, the version serving now."
    checked.says("drift-attrition", "reference", summary, reference)
    rows = f"{timeline['reference']['rows']} reference rows"
    checked.says("drift-attrition", "reference rows", summary, rows)
    shown = {row["column"]: row for row in _table(page, "columns")}
    newest = max(i for i, bucket in enumerate(timeline["buckets"]) if bucket["rows"])
    for column in timeline["columns"]:
        cell = column["cells"][newest]
        row = shown[column["column"]]
        verdict = "drift" if cell["drifted"] else "no drift"
        checked.same("drift-attrition", f"{column['column']} verdict", row["verdict"], verdict)
        statistic = _shown(cell["statistic"], 4)
        what = f"{column['column']} statistic"
        checked.same("drift-attrition", what, row["statistic"], statistic)


def _registry(page: Page, url: str, api: httpx.Client, checked: Checked) -> None:
    _visit(page, url + "/registry", "registry")
    shown = {row["model"]: row for row in _table(page, "models")}
    for model in api.get("/v1/models").json()["models"]:
        row = shown[model["name"]]
        count = str(model["version_count"])
        checked.same("registry", f"{model['name']} versions", row["versions"], count)
        latest = str(model["latest_version"])
        checked.same("registry", f"{model['name']} latest", row["latest"], latest)


def _alerts(page: Page, url: str, api: httpx.Client, checked: Checked) -> None:
    _visit(page, url + "/alerts", "alerts")
    shown = [(row["#"], row["rule"], row["state"]) for row in _table(page, "history")]
    alerts = api.get("/v1/alerts", params={"limit": 500}).json()["alerts"]
    expected = [(str(a["id"]), a["rule"], a["state"]) for a in alerts]
    checked.same("alerts", "alerts (id, rule, state)", shown, expected)


def _pipelines(page: Page, url: str, api: httpx.Client, checked: Checked) -> None:
    _visit(page, url + "/pipelines", "pipelines")
    shown = [(row["#"], row["status"], row["version"]) for row in _table(page, "runs")]
    runs = api.get("/v1/pipelines/attrition-retrain/runs", params={"limit": 20}).json()["runs"]
    expected = [
        (str(r["id"]), r["status"], f"attrition/{r['version']}" if r["version"] else DASH)
        for r in runs
    ]
    checked.same("pipelines", "runs (id, status, version)", shown, expected)


def _audit(page: Page, url: str, api: httpx.Client, checked: Checked) -> None:
    _visit(page, url + "/audit", "audit")
    shown = [(row["#"], row["action"], row["target"]) for row in _table(page, "records")]
    records = api.get("/v1/audit", params={"limit": 50}).json()["records"]  # the page's 50
    expected = [(str(r["id"]), r["action"], r["target"]) for r in records]
    checked.same("audit", "records (id, action, target)", shown, expected)
