"""GET /v1/models/{model}/versions pages and filters over HTTP; GET /v1/models/{model} shows
the newest versions only, with a link to the listing; the client does the same."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from champion.client import Client
from champion.services import Services
from tests.conftest import ModelFolders


@pytest.fixture
def churn(services: Services, model_folder: ModelFolders) -> Services:
    folder = model_folder("constant")
    for _ in range(23):
        services.registry.register(folder, model="churn", actor="tests")
    services.registry.set_alias("churn", "champion", 4, actor="tests")
    return services


def test_the_model_shows_its_newest_versions_and_links_the_listing(
    churn: Services, client: TestClient
) -> None:
    body = client.get("/v1/models/churn").json()
    assert body["version_count"] == 23 and body["latest_version"] == 23
    assert [v["version"] for v in body["versions"]] == list(range(23, 13, -1))
    assert body["versions_url"] == "/v1/models/churn/versions"
    listed = client.get(body["versions_url"], params={"limit": 20}).json()
    assert [v["version"] for v in listed["versions"]] == list(range(23, 3, -1))
    rest = client.get(body["versions_url"], params={"cursor": listed["next_cursor"]}).json()
    assert [v["version"] for v in rest["versions"]] == [3, 2, 1]
    assert rest["next_cursor"] is None
    champion = client.get(body["versions_url"], params={"alias": "champion"}).json()
    assert [(v["version"], v["aliases"]) for v in champion["versions"]] == [(4, ["champion"])]
    mine = client.get(body["versions_url"], params={"creator": "tests", "metric": "auc>=0.5"})
    assert len(mine.json()["versions"]) == 23
    tagged = client.get(body["versions_url"], params={"tag": "team:search"}).json()
    assert tagged == {"model": "churn", "versions": [], "next_cursor": None}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "x"}, "cursor"),
        ({"metric": "auc>high"}, "metric"),
        ({"tag": "team:"}, "tag"),
        ({"alias": "bad name"}, "alias"),
        ({"created_after": "yesterday"}, "created_after"),
        ({"created_before": "99999-01-01"}, "created_before"),
    ],
)
def test_a_bad_query_value_is_a_4xx_naming_its_field(
    services: Services,
    model_folder: ModelFolders,
    client: TestClient,
    params: dict[str, object],
    field: str,
) -> None:
    # Input is checked before anything is read: one version is enough.
    services.registry.register(model_folder("constant"), model="churn", actor="tests")
    response = client.get("/v1/models/churn/versions", params=params)
    assert 400 <= response.status_code < 500, response.text
    message = response.json()["error"]["message"]
    assert field in message, message
    assert repr(next(iter(params.values())))[1:-1] in message or field == "limit", message


def test_the_client_pages_the_same_way(churn: Services, client: TestClient) -> None:
    with Client(str(client.base_url), transport=_Through(client)) as api:
        page = api.list_versions("churn", limit=5, metrics=["auc>0.1"], creator="tests")
        assert [v.version for v in page.versions] == [23, 22, 21, 20, 19]
        nxt = api.list_versions("churn", limit=5, cursor=page.next_cursor)
        assert nxt.versions[0].version == 18
        assert len(api.get_model("churn").versions) == 10


class _Through(httpx.BaseTransport):
    """Sends the client's requests to the test app (the client's own transport seam)."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.client.request(
            request.method, str(request.url), headers=request.headers, content=request.content
        )
        return httpx.Response(
            response.status_code, headers=response.headers, content=response.content
        )
