from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from champion import plotlyjs
from champion.dashboard import PAGES
from champion.services import Services
from tests.conftest import ModelFolders, churn_canary, wait_until_written

ONE_DATABASE = (
    "The pages are shells whatever the database; every route their scripts read is tested on "
    "both databases in tests/api."
)


def test_every_page_is_a_shell_that_loads_local_scripts_only(
    served: Services, client: TestClient
) -> None:
    for page in PAGES:
        response = client.get(page.path.replace("{name}", "churn"))
        assert response.status_code == 200, page
        html = response.text
        assert '<script src="/static/plotly.min.js" id="plotly-js" async>' in html
        assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
    response = client.get("/static/plotly.min.js")
    assert response.status_code == 200 and response.headers["content-type"].startswith(
        "text/javascript"
    )
    assert response.content == plotlyjs.PATH.read_bytes()
    assert client.get("/static/dashboard.js").status_code == 200


def test_endpoint_names_are_escaped_in_the_page(served: Services, client: TestClient) -> None:
    html = client.get("/endpoints/%3Cimg%20src=x%20onerror=alert(1)%3E").text
    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # the heading
    assert 'data-name="&lt;img src=x onerror=alert(1)&gt;"' in html  # what the script reads


@pytest.mark.parametrize(
    "path",
    [
        "/static/../api/app.py",
        "/static/%2e%2e%2fapi%2fapp.py",
        "/static/..%2F..%2Fsettings.py",
        "/static/%2Fetc%2Fpasswd",
        "/static/dashboard.js%00.css",
        "/static/templates",
    ],
)
def test_static_files_never_leave_the_dashboard_folder(
    served: Services, client: TestClient, path: str
) -> None:
    response = client.get(path)
    assert response.status_code in (400, 404)  # 400: a NUL character
    assert "import" not in response.text and "root:" not in response.text


def test_every_page_is_open_and_its_data_needs_a_token() -> None:
    from champion.access import required_scope

    for page in PAGES:
        assert required_scope("GET", page.path.replace("{name}", "churn")) is None, page
    assert required_scope("GET", "/v1/endpoints/churn/drift/timeline") == "read"
    assert required_scope("GET", "/endpoints/churn/drift/timeline") == "read"


@pytest.mark.parametrize("path", ["/endpoints/nope", "/endpoints/nope/drift"])
def test_an_unknown_endpoints_page_is_a_404_that_says_so(
    served: Services, client: TestClient, path: str
) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "There is no endpoint &#39;nope&#39; on this server." in response.text
    assert '<script src="/static/endpoint.js">' not in response.text  # nothing to refresh
    assert "churn" not in response.text  # the page names no other endpoint


def test_with_tokens_the_shell_does_not_tell_which_endpoints_exist(
    served: Services, client: TestClient
) -> None:
    served.tokens.create("ops", ["admin"], actor="tests")
    client.app.state.champion.keyring.refresh()  # type: ignore[attr-defined]  # the lifespan's
    missing, known = client.get("/endpoints/nope"), client.get("/endpoints/churn")
    assert missing.status_code == known.status_code == 200  # its script asks the API, with a token
    assert '<script src="/static/endpoint.js">' in missing.text


def test_the_shell_says_an_experiment_exists_only_to_whoever_may_read_it(
    services: Services, client: TestClient, model_folder: ModelFolders
) -> None:
    # The page then asks for the report at once instead of after the list of experiments.
    churn_canary(services, model_folder, 0.5)
    marker = 'data-experiment="yes"'
    assert marker not in client.get("/endpoints/churn").text
    services.experiments.set("churn", {"goal": "click_rate", "guardrails": []}, actor="t")
    assert marker in client.get("/endpoints/churn").text
    assert marker not in client.get("/endpoints/churn/drift").text  # its script asks nothing
    services.tokens.create("ops", ["admin"], actor="tests")
    client.app.state.champion.keyring.refresh()  # type: ignore[attr-defined]  # the lifespan's
    assert marker not in client.get("/endpoints/churn").text
    assert "hasExperiment" in client.get("/static/endpoint.js").text


def test_a_pipeline_endpoints_page_has_a_stages_panel_fed_by_the_stage_routes(
    served: Services, client: TestClient, model_folder: ModelFolders
) -> None:
    served.registry.register(
        model_folder("rerank"), model="rerank", actor="tests", aliases_to_set=("champion",)
    )
    stages = [
        {"name": "retrieve", "model": "recs@champion", "k": 5},
        {"name": "rerank", "model": "rerank@champion", "inputs": {"candidates": "retrieve.items"}},
    ]
    put = client.put("/v1/endpoints/chain", json={"policy": "stages", "params": {"stages": stages}})
    assert put.status_code == 200, put.text
    for n in range(3):
        assert client.post("/v1/endpoints/chain/rank", json={"unit": f"u{n}", "k": 3}).is_success
    wait_until_written(client)
    html = client.get("/endpoints/chain").text
    # The panel is in the shell, hidden until the script finds stages in the endpoint's answer.
    assert '<section id="stages-section" hidden>' in html and '<div id="stages">' in html
    assert '<script src="/static/endpoint.js">' in html
    script = client.get("/static/endpoint.js").text
    assert "${BASE}/stages" in script and "${BASE}/drift/stages" in script
    described = client.get("/v1/endpoints/chain").json()["stages"]
    assert [(s["stage"], s["policy"], s["serving"], s["live"]) for s in described] == [
        ("retrieve", "single", ["recs/1"], "recs/1"),
        ("rerank", "single", ["rerank/1"], "rerank/1"),
    ]
    numbers = client.get("/v1/endpoints/chain/stages").json()["stages"]
    assert [
        (s["stage"], [(v["model"], v["requests"]) for v in s["versions"]]) for s in numbers
    ] == [
        ("retrieve", [("recs", 3)]),
        ("rerank", [("rerank", 3)]),
    ]
    assert all(v["latency_p99_ms"] is not None for s in numbers for v in s["versions"])
    moves = client.get("/v1/endpoints/chain/drift/stages", params={"window": "1h"}).json()
    assert [s["stage"] for s in moves["stages"]] == ["retrieve", "rerank"]
    assert client.get("/v1/endpoints/churn").json()["stages"] is None  # no stages, no panel
