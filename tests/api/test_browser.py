"""An open server (loopback, no token) answers no other site's page: foreign Host headers
(DNS rebinding) and cross-site writes are refused, its own callers get through, and every
HTML answer carries the headers that keep script out of it."""

from __future__ import annotations

import io
import re
import tarfile
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from champion.access import required_scope
from champion.api import create_app
from champion.services import Services
from champion.settings import Settings
from tests.api.test_access import BODIES, ROW, _routes, _snapshot, _url

ONE_DATABASE = (
    "Host and origin checks and the headers of HTML answers are decided before any database is "
    "read."
)


FOREIGN = "http://127.0.0.2:8765"  # another origin on the same machine
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def browser(served: Services, settings: Settings) -> Iterator[TestClient]:
    """A client that sends what a browser's page would: no X-Champion-Request."""
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8000") as client:
        yield client


def _archive() -> bytes:
    # A python-flavor version whose code would run on load: the upload must not get that far.
    files = {"champion.yaml": b"kind: classifier\nflavor: python\nclass: evil:Model\n"}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_a_foreign_host_is_refused_for_reads_and_writes(browser: TestClient) -> None:
    for method, path in [("GET", "/v1/models"), ("GET", "/"), ("POST", "/v1/feedback")]:
        response = browser.request(
            method, path, headers={"Host": "attacker.example:8000"}, json={"kind": "click"}
        )
        assert response.status_code == 403, (method, path)
        message = response.json()["error"]["message"]
        assert "Host 'attacker.example:8000' is not a loopback name" in message
        assert "CHAMPION_ALLOWED_HOSTS" in message
    assert browser.get("/v1/health", headers={"Host": "attacker.example"}).status_code == 403


@pytest.mark.parametrize(
    "host", ["127.0.0.1:8000", "localhost:8000", "LOCALHOST", "127.0.0.2", "[::1]:8000", "[::1]"]
)
def test_loopback_names_and_addresses_are_answered(browser: TestClient, host: str) -> None:
    assert browser.get("/v1/models", headers={"Host": host}).status_code == 200


def test_names_the_operator_lists_are_answered(served: Services, settings: Settings) -> None:
    listed = settings.model_copy(update={"allowed_hosts": ["champion.internal"]})
    with TestClient(create_app(listed), base_url="http://champion.internal:8000") as client:
        assert client.get("/v1/models").status_code == 200
        refused = client.get("/v1/models", headers={"Host": "champion.internal.attacker.example"})
        assert refused.status_code == 403
        # Behind a proxy on this machine: the page is on the listed name, the Host upstream's.
        body = {"json": {"instances": [ROW]}}
        behind = {"Host": "127.0.0.1:8000", "Origin": "https://champion.internal"}
        predict = "/v1/endpoints/churn/predict"
        assert client.post(predict, headers=behind, **body).status_code == 200
        foreign = {"Host": "127.0.0.1:8000", "Origin": "https://champion.internal.evil.test"}
        assert client.post(predict, headers=foreign, **body).status_code == 403


def test_the_allowed_hosts_setting_reads_a_comma_separated_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHAMPION_ALLOWED_HOSTS", "Champion.Internal, box.lan")
    assert Settings().allowed_hosts == ["champion.internal", "box.lan"]


def test_every_write_from_another_site_is_refused_and_changes_nothing(
    served: Services, browser: TestClient
) -> None:
    routes = [(m, p) for m, p in _routes(browser) if m in WRITES]
    assert len(routes) >= 10
    before = _snapshot(served)
    for method, path in routes:
        url = _url(path)
        body = BODIES.get((method, path), {"json": {}})
        # A page's fetch with a JSON body and its Origin (the preflight would fail anyway).
        response = browser.request(method, url, headers={"Origin": FOREIGN}, **body)
        assert response.status_code == 403, (method, path, response.text)
        assert f"Origin {FOREIGN!r} is another site" in response.text
        # A form or no-cors fetch: no Origin reached us, no JSON, no X-Champion-Request.
        for simple in ({"data": {"version": "1"}}, {"content": b"{}"}, {}):
            response = browser.request(method, url, **simple)
            assert response.status_code == 403, (method, path, simple, response.text)
            assert "X-Champion-Request: 1" in response.text
        # A sandboxed frame or a file says Origin: null, which is no one's origin.
        response = browser.request(method, url, headers={"Origin": "null"}, **body)
        assert response.status_code == 403, (method, path)
    assert _snapshot(served) == before  # not even a logged prediction


def test_a_cross_site_multipart_upload_registers_nothing(
    served: Services, browser: TestClient
) -> None:
    upload = {
        "files": {"file": ("version.tar.gz", _archive(), "application/gzip")},
        "data": {"aliases": "champion"},
    }
    for headers in ({}, {"Origin": FOREIGN}, {"Origin": "null"}):
        response = browser.post("/v1/models/churn/versions", headers=headers, **upload)
        assert response.status_code == 403, (headers, response.text)
    assert [v.number for v in served.registry.list_versions("churn")] == [1]


def test_the_servers_own_callers_get_through(served: Services, browser: TestClient) -> None:
    predict = "/v1/endpoints/churn/predict"
    instances = {"instances": [ROW]}
    assert browser.post(predict, json=instances).status_code == 200  # JSON: preflighted
    # The dashboard's page on this server: same origin (as its fetch sends it).
    same = {"Origin": "http://127.0.0.1:8000"}
    assert browser.post(predict, json=instances, headers=same).status_code == 200
    # Non-browser callers that post a body without a content type say who they are.
    raw = b'{"instances": [{"tenure": 3, "charges": 12.5, "contract": "Month-to-month"}]}'
    for marker in ({"X-Champion-Request": "1"}, {"Inference-Header-Content-Length": "0"}):
        assert browser.post(predict, content=raw, headers=marker).status_code == 200, marker
    moved = browser.put(
        "/v1/models/churn/aliases/staging",
        data={"version": "1"},
        headers={"X-Champion-Request": "1"},
    )
    assert moved.status_code != 403  # past the guard (the route wants JSON)


def test_with_tokens_the_token_guards_and_foreign_hosts_need_one(
    served: Services, settings: Settings
) -> None:
    _, secret = served.tokens.create("ops", frozenset({"admin"}), actor="tests")
    with TestClient(create_app(settings), base_url="http://champion.example") as client:
        assert client.get("/v1/models").status_code == 401  # no token: refused by the token
        bearer = {"Authorization": f"Bearer {secret}"}
        assert client.get("/v1/models", headers=bearer).status_code == 200
        predict = client.post(
            "/v1/endpoints/churn/predict", json={"instances": [ROW]}, headers=bearer
        )
        assert predict.status_code == 200


def test_every_dashboard_page_runs_only_its_own_scripts(browser: TestClient) -> None:
    from champion.dashboard import PAGES

    for page in PAGES:
        response = browser.get(page.path.replace("{name}", "churn"))
        assert response.status_code == 200
        policy = response.headers["content-security-policy"]
        assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy.split("style-src")[0]
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["cross-origin-opener-policy"] == "same-origin"
        inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", response.text)
        assert inline == [], page.name
        assert re.findall(r"\son[a-z]+=", response.text) == [], page.name  # no handlers
        script = re.search(
            r'<script src="(/static/[a-z]+\.js)">\s*</script>\s*</body>', response.text
        )
        assert script is not None and browser.get(script.group(1)).status_code == 200


def test_every_answer_forbids_sniffing_and_other_html_forbids_framing(
    browser: TestClient,
) -> None:
    for path in ("/v1/models", "/static/dashboard.js", "/v1/nothing-here"):
        headers = browser.get(path).headers
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["cross-origin-resource-policy"] == "same-origin", path
    docs = browser.get("/docs")
    assert docs.status_code == 200
    assert "frame-ancestors 'none'" in docs.headers["content-security-policy"]
    assert docs.headers["x-frame-options"] == "DENY"
    refused = browser.get("/", headers={"Host": "attacker.example"})
    assert refused.headers["x-content-type-options"] == "nosniff"


def test_the_refusals_are_counted(browser: TestClient) -> None:
    browser.get("/v1/models", headers={"Host": "attacker.example"})
    browser.post("/v1/feedback", data={"kind": "click"})
    metrics = browser.get("/metrics").text
    assert re.search(r'champion_access_refused_total\{status="403"\} 2\.0', metrics), metrics


def test_open_and_read_paths_need_no_header(browser: TestClient) -> None:
    for path in ("/", "/v1/health", "/v1/models", "/static/dashboard.js"):
        assert required_scope("GET", path) in (None, "read")
        assert browser.get(path).status_code == 200, path
