"""The registry page's filters and next-page links in Chromium, against the listing API.

25 versions of one model, every third tagged ``team:search`` and scored higher: the page
shows 20 newest first, its next-page link the other 5; a tag, a metric threshold and a
creator filter keep what the API keeps; a bad threshold shows the API's message.
"""

from __future__ import annotations

import pytest
import yaml

from champion.server_process import ServerProcess
from champion.services import Services
from tests.conftest import ModelFolders
from tests.e2e.chromium import chromium, watch
from tests.e2e.test_dashboard import TOO_WIDE, UPDATED, WIDTH

ONE_DATABASE = (
    "The browser sees the same pages whichever database the server uses, and every route these "
    "pages read is tested on both databases in tests/api."
)


# The version numbers (without the model) a versions table shows, in order.
SHOWN = """() => [...document.querySelectorAll('#versions tbody tr td:first-child')]
    .map((cell) => cell.textContent.trim().split(' ')[0])"""


def _register(services: Services, model_folder: ModelFolders) -> None:
    folder = model_folder("constant")
    manifest = yaml.safe_load((folder / "champion.yaml").read_text())
    for number in range(1, 26):
        tagged = number % 3 == 0
        manifest["lineage"]["tags"] = {"team": "search" if tagged else "ads"}
        manifest["lineage"]["metrics"] = {"auc": 0.8 if tagged else 0.6}
        (folder / "champion.yaml").write_text(yaml.safe_dump(manifest))
        services.registry.register(folder, model="churn", actor="ana" if number > 20 else "tests")


def _api(services: Services, **filters: object) -> list[str]:
    from champion.registry import MetricFilter, VersionFilter

    flt = VersionFilter(
        tags=VersionFilter.parse_tags([str(filters["tag"])]) if "tag" in filters else {},
        creator=filters.get("creator"),  # type: ignore[arg-type]  # a str or None here
        metrics=(MetricFilter.parse(str(filters["metric"])),) if "metric" in filters else (),
    )
    page = services.registry.find_versions("churn", flt, limit=20)
    return [f"churn/{v.number}" for v in page.versions]


@pytest.mark.slow(seconds=10)
def test_filters_and_next_page_links_show_what_the_api_lists(
    services: Services, model_folder: ModelFolders, database_url: str | None
) -> None:
    _register(services, model_folder)
    server = ServerProcess(services.settings.home, database_url)
    server.start()
    try:
        with chromium() as browser:
            page = browser.new_page(viewport={"width": WIDTH, "height": 900})
            watched = watch(page)
            page.goto(server.url + "/registry")
            page.wait_for_selector(UPDATED)
            assert page.evaluate(SHOWN) == [f"churn/{n}" for n in range(25, 5, -1)]
            page.click("text=next 20 →")
            page.wait_for_selector(UPDATED)
            assert "cursor=" in page.url and "model=churn" in page.url
            assert page.evaluate(SHOWN) == [f"churn/{n}" for n in range(5, 0, -1)]
            assert page.locator("text=next 20 →").count() == 0
            page.click("text=← newest")
            page.wait_for_selector(UPDATED)
            assert page.evaluate(SHOWN)[0] == "churn/25"
            # The form's filters go into the address, and the page lists what the API does.
            page.goto(server.url + "/registry")
            page.wait_for_selector(UPDATED)
            page.fill("#filter-tag", "team:search")
            page.fill("#filter-metric", "auc>0.7")
            page.click("#filters button[type=submit]")
            page.wait_for_selector(UPDATED)
            assert "tag=team%3Asearch" in page.url
            expected = _api(services, tag="team:search", metric="auc>0.7")
            assert page.evaluate(SHOWN) == expected == [f"churn/{n}" for n in range(24, 0, -3)]
            assert page.input_value("#filter-tag") == "team:search"
            page.goto(server.url + "/registry?creator=ana")
            page.wait_for_selector(UPDATED)
            assert page.evaluate(SHOWN) == _api(services, creator="ana")
            assert page.evaluate(SHOWN) == [f"churn/{n}" for n in range(25, 20, -1)]
            page.goto(server.url + "/registry?metric=auc%3E%3Dhigh")
            page.wait_for_selector(UPDATED)
            assert "'auc>=high' is no metric threshold" in page.inner_text("#filter-error")
            assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
            assert page.evaluate(TOO_WIDE) == []
            assert [e for e in watched.errors if "422" not in e] == []
            assert watched.ran(page) == []
    finally:
        server.stop()
