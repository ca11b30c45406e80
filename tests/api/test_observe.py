"""Request ids, the access log and HTTP metrics, through the HTTP API."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import orjson
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from champion.api import create_app
from champion.events.tables import predictions
from champion.observability import JsonFormatter, RequestFields
from champion.services import Services
from champion.settings import Settings
from tests.conftest import ModelFolders, local_client, wait_until_written

ONE_DATABASE = (
    "Request ids, access-log lines and HTTP metrics are made around the routes, whatever "
    "database they read."
)


ROW = {"tenure": 3, "charges": 12.5, "contract": "Month-to-month"}
PREDICT = "/v1/endpoints/churn/predict"


@pytest.fixture
def logged(settings: Settings) -> Iterator[TestClient]:
    settings.access_log = True
    with local_client(create_app(settings)) as test_client:
        yield test_client


def _rows(client: TestClient) -> list[dict[str, object]]:
    wait_until_written(client)
    engine = client.app.state.champion.services.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        query = sa.select(
            predictions.c.request_id, predictions.c.client_request_id, predictions.c.trace_id
        ).order_by(predictions.c.request_id)
        return [dict(row) for row in conn.execute(query).mappings()]


def test_without_a_header_the_response_id_is_the_prediction_request_id(
    served: Services, client: TestClient
) -> None:
    response = client.post(PREDICT, json={"instances": [ROW]})
    request_id = response.json()["request_id"]
    assert response.headers["x-request-id"] == request_id
    assert _rows(client) == [
        {"request_id": request_id, "client_request_id": None, "trace_id": None}
    ]


def test_a_client_id_is_echoed_and_stored_beside_the_server_id(
    served: Services, client: TestClient
) -> None:
    # A client that reuses its id (a retry, a buggy generator) gets two events, not one.
    headers = {"X-Request-ID": "checkout-7f3c:2a9e/1"}
    first = client.post(PREDICT, json={"instances": [ROW]}, headers=headers)
    second = client.post(PREDICT, json={"instances": [ROW]}, headers=headers)
    assert first.headers["x-request-id"] == second.headers["x-request-id"] == "checkout-7f3c:2a9e/1"
    ids = sorted([first.json()["request_id"], second.json()["request_id"]])
    assert ids[0] != ids[1]
    assert _rows(client) == [
        {"request_id": ids[0], "client_request_id": "checkout-7f3c:2a9e/1", "trace_id": None},
        {"request_id": ids[1], "client_request_id": "checkout-7f3c:2a9e/1", "trace_id": None},
    ]
    # Feedback refers to the server's id, as before.
    feedback = {"request_id": ids[0], "kind": "label", "label": 1}
    assert client.post("/v1/feedback", json=feedback).status_code == 201


@pytest.mark.parametrize(
    "bad",
    ["has space", "x" * 129, 'quote"d', "new\\nline", "é-latin1", ""],
)
def test_an_invalid_client_id_is_replaced_not_echoed(
    served: Services, client: TestClient, bad: str
) -> None:
    response = client.post(
        PREDICT,
        json={"instances": [ROW]},
        headers=[("X-Request-ID", bad.encode("latin-1"))],
    )
    assert response.status_code == 200
    assert response.headers["x-request-id"] == response.json()["request_id"]
    assert _rows(client)[0]["client_request_id"] is None


def test_every_response_carries_a_request_id_even_refusals_and_misses(
    client: TestClient,
) -> None:
    for response in (
        client.get("/v1/health/live"),
        client.get("/no/such/page"),
        client.post("/v1/endpoints/nope/predict", json={"instances": [ROW]}),
        client.post(PREDICT, content=b"{not json"),
    ):
        assert len(response.headers["x-request-id"]) == 32, response.status_code


def test_the_access_log_names_route_ids_endpoint_versions_status_and_latency(
    served: Services,
    logged: TestClient,
    model_folder: ModelFolders,
    caplog: pytest.LogCaptureFixture,
) -> None:
    served.registry.register(model_folder("failing"), model="churn", actor="tests")
    canary = {"champion": "churn/1", "challenger": "churn/2", "share": 1.0}
    assert logged.put("/v1/endpoints/churn", json={"policy": "canary", "params": canary}).is_success
    caplog.set_level(logging.INFO, logger="champion")
    caplog.handler.addFilter(RequestFields())  # as configure_logging does for the server's handler
    caplog.clear()
    response = logged.post(PREDICT, json={"instances": [ROW]}, headers={"X-Request-ID": "abc-1"})
    assert response.is_success

    [access] = [r for r in caplog.records if r.name == "champion.access"]
    line = orjson.loads(JsonFormatter().format(access))
    assert line["message"].startswith("POST /v1/endpoints/{endpoint}/predict 200 ")
    assert line["level"] == "INFO"
    assert line["logger"] == "champion.access"
    assert line["route"] == "/v1/endpoints/{endpoint}/predict"
    assert (line["method"], line["status"]) == ("POST", 200)
    assert line["request_id"] == response.json()["request_id"]
    assert line["client_request_id"] == "abc-1"
    assert (line["endpoint"], line["arm"]) == ("churn", "challenger")
    # The challenger failed and the champion answered.
    assert (line["version"], line["versions"]) == ("churn/1", ["churn/2", "churn/1"])
    assert line["latency_ms"] > 0
    assert "time" in line
    # The failure's own log line, written in the serving layer, carries the same ids.
    [failure] = [r for r in caplog.records if r.name == "champion.serving"]
    failure_line = orjson.loads(JsonFormatter().format(failure))
    assert failure_line["request_id"] == line["request_id"]
    assert failure_line["client_request_id"] == "abc-1"
    assert "RuntimeError: this model always fails" in failure_line["exception"]


def test_the_access_log_is_off_by_default(
    served: Services, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="champion")
    assert client.post(PREDICT, json={"instances": [ROW]}).is_success
    assert not [r for r in caplog.records if r.name == "champion.access"]


def _http_samples(client: TestClient) -> dict[tuple[str, ...], float]:
    text = client.get("/metrics").text
    found: dict[tuple[str, ...], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "champion_http_requests_total":
                labels = sample.labels
                found[(labels["method"], labels["route"], labels["status"])] = sample.value
    return found


def test_http_metrics_label_every_route_by_its_template(
    served: Services, logged: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="champion")
    assert logged.post(PREDICT, json={"instances": [ROW]}).is_success
    assert logged.post("/v1/endpoints/nope/predict", json={"instances": [ROW]}).status_code == 404
    for path in ("/secret-1", "/secret-2", "/v1/models/churn/no/such/thing"):
        assert logged.get(path).status_code == 404
    assert logged.get("/v1/models/churn").is_success
    assert logged.request("BREW", "/v1/health").status_code == 405

    counts = _http_samples(logged)
    assert counts[("POST", "/v1/endpoints/{endpoint}/predict", "200")] == 1
    assert counts[("POST", "/v1/endpoints/{endpoint}/predict", "404")] == 1
    assert counts[("GET", "unmatched", "404")] == 3
    assert counts[("GET", "/v1/models/{model}", "200")] == 1
    assert counts[("other", "/v1/health", "405")] == 1
    # No raw path anywhere in the labels.
    assert not [key for key in counts if "secret" in key[1] or "churn" in key[1]]
    routes = {r.__dict__["route"] for r in caplog.records if r.name == "champion.access"}
    assert "unmatched" in routes
    assert not [route for route in routes if "secret" in route]


def test_a_request_refused_before_routing_is_counted_under_its_route(
    settings: Settings, served: Services
) -> None:
    # Another site's page posting to the server is refused (403) by the browser guard,
    # before routing: the metric still names the route it aimed at.
    with local_client(create_app(settings)) as client:
        refused = client.post(
            PREDICT,
            json={"instances": [ROW]},
            headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        )
        assert refused.status_code == 403
        assert len(refused.headers["x-request-id"]) == 32
        assert _http_samples(client)[("POST", "/v1/endpoints/{endpoint}/predict", "403")] == 1


def test_latency_buckets_reach_the_predict_timeout_and_process_metrics_are_exported(
    settings: Settings,
) -> None:
    settings.predict_timeout_seconds = 3.0
    with local_client(create_app(settings)) as client:
        client.get("/v1/health/live")
        families = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").text)}
    for name in ("champion_prediction_latency_seconds", "champion_http_request_duration_seconds"):
        bounds = [s.labels["le"] for s in families[name].samples if s.name.endswith("_bucket")]
        if bounds:
            assert bounds[-2:] == ["3.0", "+Inf"], name
    health = [
        s
        for s in families["champion_http_request_duration_seconds"].samples
        if s.name.endswith("_bucket") and s.labels["route"] == "/v1/health/live"
    ]
    assert [s.labels["le"] for s in health][-3:] == ["2.5", "3.0", "+Inf"]
    for name in (
        "process_cpu_seconds",
        "process_resident_memory_bytes",
        "process_open_fds",
        "python_gc_collections",
        "python_info",
    ):
        assert name in families, name


def test_the_requests_in_flight_count_the_scrape_itself_and_nothing_after_it(
    served: Services, client: TestClient
) -> None:
    def in_flight() -> float:
        text = client.get("/metrics").text
        families = {f.name: f for f in text_string_to_metric_families(text)}
        return families["champion_http_requests_in_flight"].samples[0].value

    assert client.post(PREDICT, json={"instances": [ROW]}).is_success
    assert client.post("/v1/endpoints/nope/predict", json={"instances": [ROW]}).status_code == 404
    assert in_flight() == 1  # the scrape, while it is answered
    assert in_flight() == 1  # the one before it ended
