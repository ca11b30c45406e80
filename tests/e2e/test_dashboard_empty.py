"""The dashboard of a fresh install in Chromium at 1280 px: nothing to draw is said, not drawn.

A chart with no data shows a sentence instead of empty axes (or axes spanning a made-up year),
every page fits the window, and an unknown endpoint's page is a 404 that says so (the server
has no token, so the page itself can tell).
"""

from __future__ import annotations

import pytest

from champion.server_process import ServerProcess
from champion.services import Services
from tests.e2e.test_dashboard import FLAGS, TOO_WIDE, UPDATED, WIDTH, _chromium, record_errors

# Each page, and the sentence each of its empty charts shows in place of axes.
SENTENCES = {
    "/": {"rate": "No endpoint yet.", "split": "No endpoint yet.",
          "answered": "No request was answered in the last minute."},
    "/alerts": {"timeline": "No alert has opened yet."},
    "/registry": {"metrics": "No version records offline metrics in its lineage yet."},
    "/pipelines": {},
    "/audit": {},
}  # fmt: skip


# The database plays no part in what this checks: SQLite only, to keep the suite short.
@pytest.mark.parametrize("database_url", [None], ids=["sqlite"])
@pytest.mark.slow(seconds=10)
def test_a_fresh_install_says_what_is_missing(services: Services, database_url: str | None) -> None:
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    server = ServerProcess(services.settings.home, database_url)
    server.start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=FLAGS)
            page = browser.new_page(viewport={"width": WIDTH, "height": 900})
            errors: list[str] = []
            record_errors(page, errors)
            for path, sentences in SENTENCES.items():
                page.goto(server.url + path)
                page.wait_for_selector(UPDATED)
                for chart, sentence in sentences.items():
                    assert page.inner_text(f"#{chart}") == sentence, (path, chart)
                    assert page.locator(f"#{chart} .main-svg").count() == 0, (path, chart)
                assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH, path
                assert page.evaluate(TOO_WIDE) == [], path
                assert errors == [], (path, errors)
            for path in ("/endpoints/nope", "/endpoints/nope/drift"):
                response = page.goto(server.url + path)
                assert response is not None and response.status == 404, path
                assert page.inner_text("#missing") == "There is no endpoint 'nope' on this server."
            browser.close()
    finally:
        server.stop()
