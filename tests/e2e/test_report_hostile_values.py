"""The drift report opened in Chromium: category values sent by a predict-scope caller are
shown as text and run no script (they once ended the report's <script> and ran)."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pandas as pd
from fastapi.testclient import TestClient

from champion.drift.report import write_report
from champion.services import Services
from tests.conftest import ModelFolders
from tests.drift.traffic import customers, register_scorer, serve
from tests.e2e.chromium import HOSTILE, chromium, watch

ONE_DATABASE = (
    "A report is the same page whichever database its numbers came from; reading them is "
    "tested on both databases in tests/drift."
)


def _hostile_report(
    services: Services, model_folder: ModelFolders, client: TestClient, tmp_path: Path
) -> Path:
    register_scorer(services, model_folder, customers(600, seed=1))
    live = customers(200, seed=2)
    live["contract"] = [HOSTILE[i % len(HOSTILE)] for i in range(len(live))]
    serve(client, pd.DataFrame(live))
    run = services.drift.endpoint_drift("churn", window="1h")
    return write_report(run, tmp_path / "report.html")


def test_the_report_embeds_hostile_values_as_inert_text(
    services: Services, model_folder: ModelFolders, client: TestClient, tmp_path: Path
) -> None:
    page = _hostile_report(services, model_folder, client, tmp_path).read_text()
    for value in HOSTILE:
        assert value not in page
    assert "\u2028" not in page and "\u2029" not in page
    # Two scripts run: Plotly and the one that draws; the data sits in a JSON block.
    scripts = re.findall(r"<script([^>]*)>", page)
    assert scripts == ["", ' type="application/json" id="figures"', ""]
    block = re.search(r'id="figures">(.*?)</script>', page, re.S)
    assert block is not None and "<" not in block.group(1)
    figures = json.loads(block.group(1)).values()
    labels = {html.unescape(label) for f in figures for label in f["data"][0]["x"]}
    assert set(HOSTILE) <= labels
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert policy is not None
    assert (
        "default-src 'none'" in policy.group(1)
        and "unsafe-inline" not in policy.group(1).split("style-src")[0]
    )


def test_chromium_shows_the_report_and_runs_nothing_hostile(
    services: Services, model_folder: ModelFolders, client: TestClient, tmp_path: Path
) -> None:
    report = _hostile_report(services, model_folder, client, tmp_path)
    with chromium() as browser:
        page = browser.new_page()
        watched = watch(page)
        page.goto(report.as_uri())
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot .bars').length > 0")
        assert watched.ran(page) == []
        assert watched.errors == []
        # Every chart was drawn (the policy let Plotly and the drawing script run).
        charts = page.eval_on_selector_all("[id^=chart-]", "(all) => all.map((c) => !!c.data)")
        assert charts and all(charts)
        text = page.inner_text("body")
        table = page.inner_text("table")
        assert "contract" in table
        ticks = page.eval_on_selector_all(
            "[id^=chart-] .xtick text", "(all) => all.map((t) => t.textContent)"
        )
        for value in HOSTILE:
            shown = value.replace("\u2028", "").strip()
            assert any(shown in tick.replace("\u2028", "") for tick in ticks), (value, ticks)
        assert "Drift report: endpoint churn" in text


def _hostile_ranking_report(served: Services, tmp_path: Path) -> Path:
    from datetime import timedelta

    from champion.drift.ranking_report import write_ranking_report
    from tests.fixtures.events import T0, EventLog

    log = EventLog(endpoint="recs")
    for unit in range(8):
        shown = HOSTILE[unit % 4 :] + HOSTILE[: unit % 4]
        request = log.predict("single", f"u{unit}", at=T0 + timedelta(minutes=unit),
                              items=shown, model="recs")  # fmt: skip
        log.react(request, "click", item=shown[0])
    log.write(served.engine)
    result = served.drift.ranking("recs", start=T0, end=T0 + timedelta(hours=1))
    return write_ranking_report(result, tmp_path / "ranking.html")


def test_a_rankers_report_shows_hostile_item_ids_as_text_and_runs_nothing(
    served: Services, tmp_path: Path
) -> None:
    report = _hostile_ranking_report(served, tmp_path)
    page_text = report.read_text()
    for value in HOSTILE:
        assert value not in page_text
    scripts = re.findall(r"<script([^>]*)>", page_text)
    assert scripts == ["", ' type="application/json" id="figures"', ""]
    body = json.loads(report.with_suffix(".json").read_text())
    assert body["versions"][0]["impressions"] == 8 * 4
    with chromium() as browser:
        page = browser.new_page()
        watched = watch(page)
        page.goto(report.as_uri())
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot .bars').length > 0")
        assert watched.ran(page) == [] and watched.errors == []
        ticks = page.eval_on_selector_all(
            "[id^=items-] .xtick text", "(all) => all.map((t) => t.textContent)"
        )
        for value in HOSTILE:
            shown = value.replace("\u2028", "").strip()
            assert any(shown in tick.replace("\u2028", "") for tick in ticks), (value, ticks)
        text = page.inner_text("body")
        assert "Ranker report: endpoint recs" in text and "recs/1" in text
