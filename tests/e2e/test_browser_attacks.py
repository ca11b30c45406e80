"""An open server in Chromium: hostile values show as text on every page and run nothing; a
page of another origin (127.0.0.2) cannot change anything by form, no-cors fetch or upload;
a rebound name (attacker.test resolving to 127.0.0.1) reads nothing; the dashboard's own
buttons still work."""

from __future__ import annotations

import base64
import io
import re
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from champion.services import Services
from tests.conftest import ModelFolders
from tests.e2e.chromium import HOSTILE, Watched, chromium, static_site, watch
from tests.e2e.hostile_world import FIELD, HostileWorld, hostile_world

if TYPE_CHECKING:
    from playwright.sync_api import Page

from tests.e2e.test_dashboard import UPDATED

ONE_DATABASE = (
    "The browser sees the same pages whichever database the server uses, and every route these "
    "pages read is tested on both databases in tests/api."
)


# Each page and the hostile values a caller planted in it.
PAGES = {
    "/": [HOSTILE[1]],  # who changed the endpoint last
    "/endpoints/churn": [HOSTILE[1]],  # configuration history: who and why
    "/endpoints/churn/drift?window=1h&buckets=6": [],  # live categories: in a chart, below
    "/endpoints/feed/drift?window=1h&buckets=6": [],  # the ranker's items: in a chart, below
    # A pipeline endpoint: its tested stage's arms (stages panel, experiment), history's why.
    "/endpoints/chain": [HOSTILE[0], HOSTILE[1], HOSTILE[3]],
    "/endpoints/chain/drift?window=1h&buckets=6": [],  # the items it ranked: in a chart, below
    "/endpoints/gauged": [HOSTILE[1]],  # and the field its first stage drifts on, below
    "/registry": [HOSTILE[0], HOSTILE[2], HOSTILE[3]],  # lineage, who registered
    "/alerts": [HOSTILE[3]],  # the rule's description
    "/audit": HOSTILE,
    "/pipelines": [HOSTILE[2]],  # the quarantined cell; run reasons below
}


@pytest.fixture
def world(services: Services, model_folder: ModelFolders, tmp_path: Path) -> Iterator[HostileWorld]:
    with hostile_world(services, model_folder, tmp_path) as built:
        yield built


def _visit(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector(UPDATED)


@pytest.mark.slow(seconds=6)
def test_every_page_shows_hostile_values_as_text_and_runs_nothing(world: HostileWorld) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        watched = watch(page)
        for path, planted in PAGES.items():
            _visit(page, world.url + path)
            page.wait_for_timeout(300)  # charts draw after the tables
            text = page.inner_text("body")
            shown = [v for v in HOSTILE if _plain(v) in _plain(text)]
            assert set(planted) <= set(shown), (path, shown)
            assert watched.ran(page) == [], path
            assert watched.errors == [], (path, watched.errors)
            # No element a value could have made: what a page shows, it shows as text.
            assert page.locator("main img, main svg a, main script").count() == 0, path
        assert "check for newer package versions is off" in page.inner_text("#update-check")
        _pipeline_endpoint(page, world, watched)
        # The live categories, drawn as the chart's labels, read as the callers sent them.
        # The canary split the three callers between the versions by their hashed units:
        # judge the reference of one that served (the live one may have answered none).
        with world.http() as http:
            served = http.get("/v1/endpoints/churn/stats").json()["versions"]
        top = max(served, key=lambda v: v["requests"])
        version = f"{top['model']}/{top['version']}"
        _visit(page, world.url + f"/endpoints/churn/drift?window=1h&buckets=6&version={version}")
        page.select_option("#column", "contract")
        page.wait_for_selector("#distribution .xtick text")
        ticks = page.eval_on_selector_all(
            "#distribution .xtick text", "(all) => all.map((t) => t.textContent)"
        )
        assert {_plain(v) for v in HOSTILE} <= {_plain(t) for t in ticks}, ticks
        assert watched.ran(page) == []
        # A ranker's shown items, drawn as the item chart's labels, read as the ranker sent
        # them: alone (feed) and handed through a re-ranking stage (chain).
        for endpoint in ("feed", "chain"):
            _visit(page, world.url + f"/endpoints/{endpoint}/drift?window=1h&buckets=6")
            page.wait_for_selector("#ranking-items .xtick text")
            ticks = page.eval_on_selector_all(
                "#ranking-items .xtick text", "(all) => all.map((t) => t.textContent)"
            )
            assert {_plain(v) for v in HOSTILE} <= {_plain(t) for t in ticks}, (endpoint, ticks)
            assert watched.ran(page) == [] and watched.errors == [], endpoint


def _pipeline_endpoint(page: Page, world: HostileWorld, watched: Watched) -> None:
    """The pipeline endpoints' stages panels, experiment and configuration show what callers
    named (a re-ranking stage's arms and input field, a drifted stage's field) as text."""
    _visit(page, world.url + "/endpoints/chain")
    stages = _plain(page.inner_text("#stages"))
    for number, arm in enumerate(HOSTILE[:2], start=1):
        assert f"rerank/{number} · {arm}" in stages, stages
    arms = page.eval_on_selector_all(
        "#experiment-arms tbody tr td:first-child", "(all) => all.map((t) => t.textContent)"
    )
    assert sorted(arms) == sorted(HOSTILE[:2]), arms
    # The configuration, every fold opened: the arms and the field the re-ranker reads.
    page.eval_on_selector_all("#summary details", "(all) => all.forEach((d) => (d.open = true))")
    summary = _plain(page.inner_text("#summary"))
    assert all(value in summary for value in HOSTILE[:3]), summary
    assert watched.ran(page) == [] and watched.errors == []
    assert page.locator("main img, main svg a, main script").count() == 0
    # A stage that drifted names the field it drifted on, from its version's signature.
    _visit(page, world.url + "/endpoints/gauged")
    gauge = page.locator("#stages tbody tr", has_text="gauge/1").inner_text()
    assert "drifted from" in gauge and f"({FIELD}, " in _plain(gauge), gauge
    assert watched.ran(page) == [] and watched.errors == []


def _plain(text: str) -> str:
    # Line separators show as line breaks, spaces at the ends of cells are dropped.
    return text.replace("\u2028", "").strip()


def _archive() -> str:
    # A python-flavor version that would run its code on load.
    files = {
        "champion.yaml": b"kind: classifier\nflavor: python\nclass: evil:Model\n",
        "evil.py": b"import os\nos.system('touch pwned')\n",
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return base64.b64encode(buffer.getvalue()).decode()


ATTACK = """<!doctype html><meta charset="utf-8"><title>win a prize</title>
<iframe name="sink1" hidden></iframe><iframe name="sink2" hidden></iframe>
<form id="json-as-text" method="post" enctype="text/plain" target="sink1"
      action="@SERVER@/v1/endpoints/churn/predict">
  <input name='{"instances": [{"tenure": 1, "charges": 1.0, "contract": "x", "pad": "'
         value='"}]}'>
</form>
<form id="form" method="post" target="sink2" action="@SERVER@/v1/feedback">
  <input name="request_id" value="r"><input name="kind" value="click">
</form>
<script>
const SERVER = "@SERVER@";
const results = {};
async function attempt(name, request) {
  try { const r = await request(); results[name] = r.type === "opaque" ? "opaque" : r.status; }
  catch (e) { results[name] = "blocked"; }
}
(async () => {
  // A form's answer loads in its frame: waiting for it means the server has answered.
  const submit = (id) => new Promise((done) => {
    const form = document.getElementById(id);
    document.querySelector(`iframe[name=${form.target}]`).onload = done;
    form.submit();
  });
  await submit("json-as-text");
  await submit("form");
  const body = '{"request_id": "r", "kind": "click"}';
  await attempt("no-cors", () =>
    fetch(`${SERVER}/v1/feedback`, { method: "POST", mode: "no-cors", body }));
  const upload = new FormData();
  const bytes = Uint8Array.from(atob("@ARCHIVE@"), (c) => c.charCodeAt(0));
  upload.append("file", new Blob([bytes], { type: "application/gzip" }), "version.tar.gz");
  upload.append("aliases", "champion");
  await attempt("upload", () =>
    fetch(`${SERVER}/v1/models/churn/versions`, { method: "POST", mode: "no-cors", body: upload }));
  await attempt("json", () => fetch(`${SERVER}/v1/models/churn/aliases/champion`, {
    method: "PUT", headers: { "Content-Type": "application/json" }, body: '{"version": 2}' }));
  await attempt("read", () => fetch(`${SERVER}/v1/models`));
  window.results = results;
})();
</script>"""


def test_another_origin_changes_nothing_and_the_dashboard_still_acts(
    world: HostileWorld, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    attack = ATTACK.replace("@SERVER@", world.url).replace("@ARCHIVE@", _archive())
    (site / "index.html").write_text(attack)
    before = world.predictions()
    versions = [v.number for v in world.services.registry.list_versions("churn")]
    refused = _refused(world)
    with chromium() as browser, static_site(str(site)) as origin:
        page = browser.new_page()
        page.goto(origin + "/index.html")
        results = page.wait_for_function("window.results").json_value()
        # The browser sent the simple ones but hands the page no answer, not even an opaque
        # one (Cross-Origin-Resource-Policy); the rest it stopped itself (no CORS grant).
        assert results == dict.fromkeys(["no-cors", "upload", "json", "read"], "blocked")
        # The server refused what arrived: two forms, the no-cors post and the upload.
        assert _refused(world) == refused + 4
        # Same origin: the dashboard's own button rolls the experiment back.
        page = browser.new_page()
        _visit(page, world.url + "/endpoints/churn")
        page.wait_for_selector("#rollback:enabled", timeout=15_000)
        page.click("#rollback")
        page.wait_for_selector("#confirm[open]")
        page.fill("#confirm-reason", "done here")
        page.click("#confirm-button")
        page.wait_for_selector("#confirm[open]", state="detached")
    with world.http() as http:
        assert http.get("/v1/endpoints/churn/experiment").json()["status"] == "rolled_back"
        # One prediction sent now shows that the earlier ones were refused, not slow.
        row = {"tenure": 1, "charges": 1.0, "contract": "month"}
        http.post("/v1/endpoints/churn/predict", json={"instances": [row]}).raise_for_status()
    world.wait_for_predictions(before + 1)
    assert world.predictions() == before + 1
    assert [v.number for v in world.services.registry.list_versions("churn")] == versions
    with world.http() as http:
        feedback = http.get("/v1/endpoints/churn/stats").json()["versions"]
        assert sum(v["clicks"] for v in feedback) == 0


def test_a_rebound_name_reads_nothing(world: HostileWorld) -> None:
    port = world.url.rsplit(":", 1)[1]
    response = httpx.get(world.url + "/v1/models", headers={"Host": f"attacker.test:{port}"})
    assert response.status_code == 403 and "not a loopback name" in response.text
    with chromium("--host-resolver-rules=MAP attacker.test 127.0.0.1") as browser:
        page = browser.new_page()
        answer = page.goto(f"http://attacker.test:{port}/")
        assert answer is not None and answer.status == 403
        # The page of the rebound name is same-origin with itself: its reads are refused.
        status = page.evaluate("fetch('/v1/models').then((r) => r.status)")
        assert status == 403
        assert "churn" not in page.inner_text("body")


def _refused(world: HostileWorld) -> float:
    metrics = httpx.get(world.url + "/metrics").text
    found = re.search(r'champion_access_refused_total\{status="403"\} ([0-9.]+)', metrics)
    return float(found.group(1)) if found else 0.0
