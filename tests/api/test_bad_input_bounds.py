"""Values at the edges of what a database, datetime or a window can hold, and values of the
wrong type that a lax parser would turn into others: each a clear 4xx."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi import Request
from fastapi.testclient import TestClient

from champion.api.state import actor_of
from champion.automation.spec import ScheduleSpec
from champion.drift.concept import performance
from champion.errors import InvalidInput
from champion.services import Services

INPUTS = [
    {"name": "tenure", "datatype": "INT64", "shape": [1], "data": [3]},
    {"name": "charges", "datatype": "FP32", "shape": [1], "data": [12.5]},
    {"name": "contract", "datatype": "BYTES", "shape": [1], "data": ["Two year"]},
]
TOO_LATE = "9999-12-31T23:59:59-10:00"  # past year 9999 once in UTC


@pytest.mark.parametrize(
    ("method", "path", "body", "message"),
    [
        ("POST", "/v1/feedback", {"request_id": "r", "kind": "click", "at": TOO_LATE},
         "at: Value error, must be a time from 1900 to 9000 (UTC)"),
        ("GET", f"/v1/endpoints/churn/stats?start={TOO_LATE.replace(':', '%3A')}", None,
         "query.start: Value error, must be a time from 1900 to 9000 (UTC)"),
        ("GET", "/v1/endpoints/churn/performance?end=0001-01-01T00:00:00Z", None,
         "query.end: Value error, must be a time from 1900 to 9000 (UTC)"),
        ("GET", "/v1/audit?since=0001-01-01T00:00:00%2B10:00", None, "query.since"),
        ("GET", "/v1/endpoints/churn/drift?window=9999999w", None,
         "The 'window' must be at most 5200w (a century)"),
        ("POST", "/v1/feedback/batch",
         {"events": [{"request_id": "r", "kind": "click"},
                     {"request_id": "r", "kind": "label", "label": ["a\x00"]}]},
         "events[1].label[0]: text may not contain NUL characters"),
        ("PUT", "/v1/alerts/rules/r1",
         {"endpoint": "churn", "metric": "drift_share", "threshold": 0.5, "window": "9999999w"},
         "The 'window' must be at most 5200w"),
        ("GET", "/v1/audit?before=9223372036854775808", None,
         "query.before: Input should be less than or equal to 9223372036854775807"),
        ("GET", "/v1/models/churn/versions/9223372036854775808", None,
         "Invalid version reference 'churn/9223372036854775808'"),
        ("GET", "/v1/models/churn/versions/%C2%B2", None, "Invalid alias name '²'"),
        ("PUT", "/v1/models/churn/aliases/x", {"version": 2**63},
         "version: Input should be less than or equal to 9223372036854775807"),
        ("PUT", "/v1/endpoints/pe%0A", {"policy": "single", "params": {"version": "churn/1"}},
         "Invalid endpoint name 'pe\\n'"),
        ("PUT", "/v1/endpoints/churn/experiment", {"goal": "log_loss", "min_sample": 2**64},
         "body.min_sample: the integer 18446744073709551616 does not fit in 64 bits"),
        ("POST", "/v2/models/churn/infer", {"inputs": INPUTS, "parameters": {"unit": "a\x00b"}},
         "parameters.unit: text may not contain NUL characters"),
        ("POST", "/v2/models/churn/infer", {"inputs": INPUTS, "parameters": {"unit": "u" * 257}},
         "parameters.unit must be a text of 1 to 256 characters"),
        ("POST", "/v2/models/churn/infer",
         {"inputs": [t | {"shape": [0], "data": []} for t in INPUTS]},
         "inputs: send 1 to 10,000 instances, got 0"),
        ("PUT", "/v1/endpoints/churn",
         {"policy": "ab", "params": {"arms": {"a" * 65: "churn/1", "b": "churn/1"}}},
         "params.arms." + "a" * 65 + ".[key]: String should have at most 64 characters"),
        # Of the wrong type: a lax parser would take a true or a text for a number.
        ("PUT", "/v1/endpoints/churn",
         {"policy": "single", "params": {"version": "churn@champion", "timeout_ms": True}},
         "params.timeout_ms: Input should be a valid number, got True"),
        ("PUT", "/v1/endpoints/churn",
         {"policy": "single", "params": {"version": "churn@champion", "timeout_ms": "5"}},
         "params.timeout_ms: Input should be a valid number, got '5'"),
        ("POST", "/v1/endpoints/recs/rank", {"k": True}, "k: Input should be a valid integer"),
        ("POST", "/v1/endpoints/recs/rank", {"k": "3"}, "k: Input should be a valid integer"),
        ("PUT", "/v1/models/churn/aliases/x", {"version": True},
         "version: Input should be a valid integer"),
        ("POST", "/v1/feedback", {"request_id": "r", "kind": "click", "item": True}, "item"),
        ("POST", "/v1/feedback", {"request_id": "r", "kind": "value", "value": False},
         "value: Input should be a valid number, got False"),
        ("PUT", "/v1/alerts/rules/r1", {"endpoint": "churn", "metric": "drift_share",
                                        "threshold": "0.5"},
         "threshold: Input should be a valid number, got '0.5'"),
        # A number is no time: pydantic would read it as seconds since 1970.
        ("POST", "/v1/feedback", {"request_id": "r", "kind": "click", "at": 0},
         "at: Value error, must be an ISO 8601 time such as 2026-03-01T10:00:00Z, got 0"),
        ("POST", "/v1/feedback/batch",
         {"events": [{"request_id": "r", "kind": "click", "at": 1.7e9}]},
         "events[0].at: Value error, must be an ISO 8601 time"),
        ("GET", "/v1/audit?until=0.5", None,
         "query.until: Value error, must be an ISO 8601 time such as 2026-03-01T10:00:00Z, "
         "got '0.5'"),
        ("GET", "/v1/endpoints/churn/stats?start=1767225600", None,
         "query.start: Value error, must be an ISO 8601 time"),
        # SQLite would keep a JSON integer above 2**63 - 1 as a float.
        ("POST", "/v1/feedback", {"request_id": "r", "kind": "label", "label": 2**63},
         "body.label: the integer 9223372036854775808 does not fit in 64 bits"),
        ("PUT", "/v1/alerts/rules/r1",
         {"endpoint": "churn", "metric": "drift_share", "threshold": 0.5, "description": "a\x00"},
         "body.description: text may not contain NUL characters"),
    ],
)  # fmt: skip
def test_out_of_range_or_mistyped_values_are_a_4xx_naming_the_field(
    served: Services,
    client: TestClient,
    method: str,
    path: str,
    body: object,
    message: str,
) -> None:
    before = client.get("/v1/endpoints/churn").json()["config_version"]
    response = client.request(method, path, json=body)
    # The Open Inference Protocol answers a wrong value with 400, as Triton and KServe do.
    assert response.status_code == (400 if path.startswith("/v2/") else 422), response.text
    error = response.json()["error"]
    assert message in (error if isinstance(error, str) else error["message"])
    assert client.get("/v1/endpoints/churn").json()["config_version"] == before


def test_an_infinite_experiment_setting_is_refused_not_stored(
    served: Services, client: TestClient
) -> None:
    response = client.put(
        "/v1/endpoints/churn/experiment",
        content=b'{"goal": "log_loss", "ramp": {"min_seconds": 1e999}}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert "ramp.min_seconds: Input should be a finite number" in response.text
    assert client.get("/v1/endpoints/churn/experiment").status_code == 404


def test_a_long_static_file_name_is_a_404(served: Services, client: TestClient) -> None:
    assert client.get("/static/" + "a" * 255 + ".js").status_code == 404


def test_a_schedule_is_checked_when_it_is_given() -> None:
    for schedule, message in [
        ({"cron": "99 99 99 99 99"}, "minute 99 is outside 0-59"),
        ({"every": "0s"}, "'schedule.every' must be a number and a unit"),
        ({"every": "99999999d"}, "'schedule.every' must be at most 5200w"),
    ]:
        with pytest.raises(ValueError, match=message):
            ScheduleSpec.model_validate(schedule)


def test_a_performance_answer_has_a_bounded_number_of_buckets(served: Services) -> None:
    end = datetime(2026, 1, 2, tzinfo=UTC)
    with pytest.raises(InvalidInput, match="holds 86,400 buckets of 0:00:01; at most 10,000"):
        performance(
            served.engine, "churn", end - timedelta(days=1), end, kind="classifier",
            bucket=timedelta(seconds=1),
        )  # fmt: skip


def test_who_and_why_are_kept_as_sent_or_refused(served: Services, client: TestClient) -> None:
    def set_alias(actor: bytes) -> int:
        response = client.put(
            "/v1/models/churn/aliases/staging",
            json={"version": 1},
            headers=[(b"x-champion-actor", actor)],
        )
        status: int = response.status_code
        return status

    assert set_alias("café".encode()) == 200
    audit = client.get("/v1/audit", params={"target": "churn", "action": "alias.set"}).json()
    assert audit["records"][0]["actor"] == "café"
    assert set_alias(b"x" * 129) == 422  # the audit log keeps 128 characters, never cut
    response = client.delete("/v1/models/churn/aliases/staging", params={"reason": "r" * 2001})
    assert response.status_code == 422 and "reason" in response.text
    response = client.post(
        "/v1/models/churn/versions", files={"file": ("v.tar.gz", b"x")}, data={"reason": "a\x00b"}
    )
    assert response.status_code == 422
    assert "reason: Value error, text may not contain NUL characters" in response.text


def test_an_actor_header_that_is_not_utf8_is_refused() -> None:
    # Sent as raw bytes (the test client would re-encode them as UTF-8).
    request = Request({"type": "http", "headers": [(b"x-champion-actor", b"\xff\xfe")]})
    with pytest.raises(InvalidInput, match="X-Champion-Actor header must be UTF-8"):
        actor_of(request)
