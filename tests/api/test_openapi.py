"""The OpenAPI schema is valid, and a seeded, bounded schemathesis run finds no 5xx."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from champion.services import Services
from tests.conftest import LiveServer

EXAMPLES = 15  # per operation and generation mode: bounded, and derandomized below
# Routes with a declared response model: their answers are checked against the document.
TYPED = {
    ("GET", "/v1/models"),
    ("GET", "/v1/models/{model}"),
    ("GET", "/v1/models/{model}/versions"),
    ("GET", "/v1/models/{model}/versions/{version}"),
    ("GET", "/v1/endpoints"),
    ("GET", "/v1/endpoints/{endpoint}"),
    ("GET", "/v1/endpoints/{endpoint}/history"),
    ("GET", "/v1/endpoints/{endpoint}/stats"),
    ("GET", "/v1/experiments"),
    ("GET", "/v1/audit"),
    ("GET", "/v1/alerts"),
    ("GET", "/v1/alerts/rules"),
    ("GET", "/v1/alerts/rules/{name}"),
    ("PUT", "/v1/alerts/rules/{name}"),
    ("POST", "/v1/endpoints/{endpoint}/predict"),
    ("POST", "/v1/endpoints/{endpoint}/rank"),
    ("POST", "/v1/feedback"),
    ("POST", "/v1/feedback/batch"),
}


@pytest.mark.slow(seconds=15)
def test_the_schema_is_valid_and_fuzzing_it_finds_no_server_error(
    served: Services, live_server: LiveServer
) -> None:
    import schemathesis
    from schemathesis import GenerationMode
    from schemathesis.core.result import Ok
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    conformance = [content_type_conformance, response_schema_conformance, status_code_conformance]

    schema = schemathesis.openapi.from_url(f"{live_server.url}/openapi.json")
    schema.validate()  # against the OpenAPI meta-schema
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results) >= 20
    failures: list[str] = []
    validated: set[tuple[str, str]] = set()
    for operation in operations:
        strategies = [operation.as_strategy(mode) for mode in GenerationMode]

        @settings(
            max_examples=EXAMPLES,
            derandomize=True,  # the same cases every run
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=st.one_of(strategies))
        def call(case: Any) -> None:
            # As champion's client: on an open server a form-like write needs the header.
            response = case.call(
                base_url=live_server.url, timeout=30, headers={"X-Champion-Request": "1"}
            )
            if response.status_code >= 500:
                failures.append(
                    f"{response.status_code} {case.method} {case.formatted_path}: "
                    f"{response.text[:200]}\n{case.as_curl_command()}"
                )
            elif (case.method, case.operation.path) in TYPED:
                validated.add((case.method, case.operation.path))
                # A typed route answers what its document says: a declared status, with a
                # body that fits the declared schema (errors included).
                try:
                    case.validate_response(response, checks=conformance)
                except AssertionError as exc:
                    failures.append(f"{case.method} {case.formatted_path}: {str(exc)[:400]}")

        call()
    assert failures == [], "\n".join(failures[:10])
    assert validated == TYPED  # every typed route was checked against its document


def test_the_schema_documents_every_route_family(served: Services, live_server: LiveServer) -> None:
    import httpx

    paths = httpx.get(live_server.url + "/openapi.json").json()["paths"]
    for prefix in ("/v1/models", "/v1/endpoints", "/v1/feedback", "/v1/audit", "/v2/models"):
        assert any(p.startswith(prefix) for p in paths), prefix


def test_text_no_database_can_store_is_refused_with_a_4xx(
    served: Services, live_server: LiveServer
) -> None:
    import httpx

    url = live_server.url
    assert httpx.get(f"{url}/v1/models/a%00b").status_code == 400
    assert httpx.get(f"{url}/v1/audit", params={"target": "a\x00"}).status_code == 400
    body = {"request_id": "r", "kind": "click", "label": {"n": 2**70}}
    response = httpx.post(f"{url}/v1/feedback", json=body)
    assert response.status_code == 422 and "does not fit in 64 bits" in response.text
    instances = [{"tenure": 3, "charges": 1.0, "contract": "a\x00"}]
    response = httpx.post(f"{url}/v1/endpoints/churn/predict", json={"instances": instances})
    assert response.status_code == 422 and "NUL" in response.text
    # NaN, Infinity (which Python's JSON reads) and 1e999 (valid JSON) are no number JSON can
    # store: refused where the body holds any value, naming where.
    for number in ("NaN", "-Infinity", "1e999"):
        for path, template in [
            ("/v1/feedback", '{"request_id": "r", "kind": "label", "label": [%s]}'),
            ("/v1/endpoints/recs/rank", '{"k": 2, "context": {"budget": %s}}'),
        ]:
            response = httpx.post(
                url + path,
                content=template % number,
                headers={"content-type": "application/json"},
            )
            assert response.status_code == 422, (path, number, response.text)
            message = response.json()["error"]["message"]
            assert message.startswith(("body.label[0]: ", "body.context.budget: ")), message
            assert "is not a finite number (JSON has no NaN or Infinity)" in message


def test_deeply_nested_json_is_a_4xx(served: Services, live_server: LiveServer) -> None:
    import httpx

    deep = "[" * 5000 + "]" * 5000
    for path, body in [
        ("/v1/endpoints/churn/predict", f'{{"instances": [{{"tenure": {deep}}}]}}'),
        ("/v2/models/churn/infer", f'{{"inputs": [{{"name": "tenure", "data": {deep}}}]}}'),
    ]:
        response = httpx.post(
            live_server.url + path, content=body, headers={"content-type": "application/json"}
        )
        assert 400 <= response.status_code < 500, (path, response.text)


def test_the_schema_declares_answers_errors_and_the_bearer_scheme(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["bearer"]["description"],
    }
    assert schema["security"] == [{"bearer": []}, {}]  # optional: an open server needs none
    assert schema["paths"]["/v1/health/ready"]["get"]["security"] == []

    def ref(path: str, method: str, status: str) -> str:
        answer = schema["paths"][path][method]["responses"][status]
        return str(answer["content"]["application/json"]["schema"]["$ref"]).rsplit("/", 1)[1]

    predict = "/v1/endpoints/{endpoint}/predict"
    assert ref(predict, "post", "200") == "PredictAnswer"
    assert ref("/v1/endpoints/{endpoint}/rank", "post", "200") == "RankAnswer"
    for status in ("400", "401", "403", "404", "409", "413", "422"):
        assert ref(predict, "post", status) == "ErrorAnswer", status
    assert ref("/v1/models/{model}", "get", "200") == "ModelAnswer"
    assert ref("/v1/models/{model}/versions", "get", "200") == "VersionPageAnswer"
    assert ref("/v1/endpoints/{endpoint}/stats", "get", "200") == "StatsAnswer"
    infer = schema["paths"]["/v2/models/{name}/infer"]["post"]["responses"]
    assert ref("/v2/models/{name}/infer", "post", "400") == "OipErrorAnswer"
    assert "422" not in infer  # the protocol answers a wrong value with 400
