"""/docs and /redoc in Chromium with every request off this server blocked, as on a machine
without internet: both draw the API's operations and break no rule of their page's policy."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from champion.services import Services
from tests.conftest import LiveServer
from tests.e2e.chromium import chromium, watch

if TYPE_CHECKING:
    from playwright.sync_api import Route

# Each page and an element that exists only once the library has drawn the operations.
DRAWN = {
    "/docs": ".opblock-summary-path",
    "/redoc": "[data-section-id^='operation/']",
}


# The database plays no part in what this checks: SQLite only, to keep the suite short.
@pytest.mark.parametrize("database_url", [None], ids=["sqlite"])
@pytest.mark.slow(seconds=10)
def test_the_api_documents_draw_offline_under_their_policy(
    served: Services, live_server: LiveServer
) -> None:
    elsewhere: list[str] = []

    def offline(route: Route) -> None:
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.route("**/*", offline)
        watched = watch(page)
        for path, selector in DRAWN.items():
            page.goto(live_server.url + path)
            page.wait_for_selector(selector, timeout=20_000)
            assert page.locator(selector).count() >= 10, path
            assert watched.ran(page) == [], path  # no policy violation, no dialog
        assert elsewhere == []
        assert watched.errors == []
