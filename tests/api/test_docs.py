"""/docs and /redoc work offline: every script and style they load is served by champion
itself, they run no inline script, and their policy allows scripts from this server only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from champion.access import required_scope

SRC = Path(__file__).parents[2] / "src" / "champion"


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_documents_load_only_local_assets_and_run_no_inline_script(
    client: TestClient, page: str
) -> None:
    response = client.get(page)
    assert response.status_code == 200
    html = response.text
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert len(urls) >= 3, urls  # the bundle, our start-up script, the icon
    for url in urls:
        assert url.startswith("/docs/assets/"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 0, url
    # Every <script> has a src: nothing inline, so the policy can forbid inline script.
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "unsafe-inline" not in policy.partition("style-src")[0]  # only styles may be inline
    assert "frame-ancestors 'none'" in policy
    assert response.headers["x-frame-options"] == "DENY"


def test_an_unknown_asset_is_a_404_naming_it(client: TestClient) -> None:
    response = client.get("/docs/assets/settings.py")
    assert response.status_code == 404
    assert "No documentation asset 'settings.py'" in response.json()["error"]["message"]


def test_the_document_pages_are_open_shells_and_the_schema_needs_read() -> None:
    for path in ("/docs", "/redoc", "/docs/assets/swagger-ui-bundle.js"):
        assert required_scope("GET", path) is None, path
    assert required_scope("GET", "/openapi.json") == "read"


# plotly.js, shipped as it is: it names its CDN only to fetch map outlines and icons for geo and
# map traces, which champion never draws (the next test holds that).
VENDORED = {"plotly.min.js"}


def _own_sources() -> list[Path]:
    sources = [
        *SRC.glob("**/*.py"),
        *SRC.glob("**/*.html"),
        *SRC.glob("**/*.js"),
        *SRC.glob("**/*.css"),
    ]
    return [path for path in sources if path.name not in VENDORED]


def test_no_page_or_script_of_champion_names_a_cdn() -> None:
    cdn = re.compile(r"https?://(cdn[.a-z]*\.|unpkg\.com|fonts\.googleapis|[a-z.]*jsdelivr)", re.I)
    named = [str(p) for p in _own_sources() if cdn.search(p.read_text(errors="replace"))]
    assert named == []


def test_champion_draws_no_chart_that_makes_plotly_fetch_from_its_cdn() -> None:
    fetching = re.compile(r"scattergeo|choropleth|scattermap|densitymap|mapbox|topojson", re.I)
    named = [str(p) for p in _own_sources() if fetching.search(p.read_text(errors="replace"))]
    assert named == []


def test_the_served_bundles_name_no_other_host(client: TestClient) -> None:
    redoc = client.get("/docs/assets/redoc.standalone.js").text
    assert "cdn.redoc.ly" not in redoc
