"""Traces of served requests, collected by the OpenTelemetry SDK's in-memory exporter."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import orjson
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode, format_span_id, format_trace_id

from champion.api import create_app
from champion.errors import MissingExtra
from champion.events.tables import predictions
from champion.observability import JsonFormatter, RequestFields, Tracing
from champion.services import Services
from champion.settings import Settings
from tests.conftest import ModelFolders, local_client, wait_until_written

ROW = {"tenure": 3, "charges": 12.5, "contract": "Month-to-month"}
PREDICT = "/v1/endpoints/churn/predict"
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def traced(settings: Settings, exporter: InMemorySpanExporter) -> Iterator[TestClient]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    settings.access_log = True
    with local_client(create_app(settings, tracing=Tracing(provider))) as client:
        yield client


def _canary(services: Services, client: TestClient, model_folder: ModelFolders) -> None:
    folder = model_folder("constant")
    (folder / "score.txt").write_text("0.75")
    services.registry.register(folder, model="churn", actor="tests")
    canary = {"champion": "churn/1", "challenger": "churn/2", "share": 1.0}
    assert client.put("/v1/endpoints/churn", json={"policy": "canary", "params": canary}).is_success


def _request_spans(exporter: InMemorySpanExporter, trace_id: int) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.context.trace_id == trace_id]


def test_a_canary_request_shows_its_challenger_call_as_a_child_of_the_request(
    served: Services,
    traced: TestClient,
    exporter: InMemorySpanExporter,
    model_folder: ModelFolders,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _canary(served, traced, model_folder)
    caplog.set_level(logging.INFO, logger="champion.access")
    caplog.handler.addFilter(RequestFields())
    exporter.clear()
    response = traced.post(PREDICT, json={"unit": "u1", "instances": [ROW]})
    assert response.json()["version"] == 2

    [request] = [s for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert request.name == "POST /v1/endpoints/{endpoint}/predict"
    assert request.parent is None
    assert request.attributes is not None
    assert request.attributes["http.route"] == "/v1/endpoints/{endpoint}/predict"
    assert request.attributes["http.response.status_code"] == 200
    assert request.attributes["champion.request_id"] == response.json()["request_id"]
    children = {
        s.name: s
        for s in _request_spans(exporter, request.context.trace_id)
        if s.parent is not None and s.parent.span_id == request.context.span_id
    }
    assert set(children) == {"champion.route", "champion.call", "champion.event"}
    call = children["champion.call"].attributes
    assert call is not None
    assert call["champion.version"] == "churn/2"
    assert (call["champion.arm"], call["champion.role"]) == ("challenger", "served")
    route = children["champion.route"].attributes
    assert route is not None
    assert (route["champion.policy"], route["champion.arm"]) == ("canary", "challenger")
    event = children["champion.event"].attributes
    assert event is not None
    assert event["champion.request_id"] == response.json()["request_id"]

    # The trace id is on the prediction event and in the access log line.
    trace_id = format_trace_id(request.context.trace_id)
    wait_until_written(traced)
    engine = traced.app.state.champion.services.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        stored = conn.execute(sa.select(predictions.c.trace_id)).scalar_one()
    assert stored == trace_id
    [access] = [r for r in caplog.records if r.name == "champion.access"]
    line = orjson.loads(JsonFormatter().format(access))
    assert line["trace_id"] == trace_id
    assert line["request_id"] == response.json()["request_id"]


def test_fallback_and_shadow_calls_are_spans_of_the_same_trace(
    served: Services,
    traced: TestClient,
    exporter: InMemorySpanExporter,
    model_folder: ModelFolders,
) -> None:
    served.registry.register(model_folder("failing"), model="churn", actor="tests")
    canary = {"champion": "churn/1", "challenger": "churn/2", "share": 1.0}
    assert traced.put("/v1/endpoints/churn", json={"policy": "canary", "params": canary}).is_success
    exporter.clear()
    assert traced.post(PREDICT, json={"instances": [ROW]}).json()["version"] == 1
    calls = [s for s in exporter.get_finished_spans() if s.name == "champion.call"]
    roles = {
        (s.attributes["champion.version"], s.attributes["champion.role"]): s
        for s in calls
        if s.attributes is not None
    }
    assert set(roles) == {("churn/2", "served"), ("churn/1", "fallback")}
    failed = roles[("churn/2", "served")]
    assert failed.status.status_code is StatusCode.ERROR

    shadow = {"champion": "churn/1", "challenger": "churn/2"}
    assert traced.put("/v1/endpoints/churn", json={"policy": "shadow", "params": shadow}).is_success
    exporter.clear()
    assert traced.post(PREDICT, json={"instances": [ROW]}).is_success
    wait_until_written(traced)  # the shadow's event follows its call
    [request] = [s for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER]
    shadows = [
        s
        for s in _request_spans(exporter, request.context.trace_id)
        if s.attributes is not None and s.attributes.get("champion.role") == "shadow"
    ]
    assert [s.attributes["champion.version"] for s in shadows if s.attributes] == ["churn/2"]


def test_a_caller_trace_is_continued(
    served: Services, traced: TestClient, exporter: InMemorySpanExporter
) -> None:
    exporter.clear()
    assert traced.post(PREDICT, json={"instances": [ROW]}, headers={"traceparent": TRACEPARENT})
    [request] = [s for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert format_trace_id(request.context.trace_id) == TRACEPARENT.split("-")[1]
    assert request.parent is not None
    assert format_span_id(request.parent.span_id) == TRACEPARENT.split("-")[2]


def test_an_unsampled_trace_leaves_no_trace_id_on_the_event(
    served: Services, traced: TestClient, exporter: InMemorySpanExporter
) -> None:
    exporter.clear()
    unsampled = TRACEPARENT[:-2] + "00"
    assert traced.post(PREDICT, json={"instances": [ROW]}, headers={"traceparent": unsampled})
    assert exporter.get_finished_spans() == ()
    wait_until_written(traced)
    engine = traced.app.state.champion.services.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        assert conn.execute(sa.select(predictions.c.trace_id)).scalar_one() is None


def test_without_an_endpoint_there_is_no_tracing() -> None:
    assert Tracing.from_endpoint(None) is None
    assert Tracing.from_endpoint("") is None


def test_an_endpoint_without_the_extra_names_the_extra(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # None in sys.modules makes the import fail as if the exporter were not installed.
    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.otlp.proto.http.trace_exporter", None)
    settings.otel_endpoint = "http://collector:4318"
    with pytest.raises(MissingExtra, match=r"pip install 'champion\[otel\]'"):
        create_app(settings)


class _Receiver(BaseHTTPRequestHandler):
    """An OTLP/HTTP trace receiver: keeps each request's decoded protobuf."""

    received: ClassVar[list[tuple[str, ExportTraceServiceRequest]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        decoded = ExportTraceServiceRequest()
        decoded.ParseFromString(body)
        self.received.append((self.path, decoded))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_spans_reach_an_otlp_receiver_named_in_the_settings(
    served: Services, settings: Settings
) -> None:
    _Receiver.received.clear()
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    try:
        settings.otel_endpoint = f"http://127.0.0.1:{receiver.server_address[1]}/"
        with local_client(create_app(settings)) as client:
            assert client.post(PREDICT, json={"instances": [ROW]}).is_success
        # The server's shutdown exported what its batch processor held.
    finally:
        receiver.shutdown()
        receiver.server_close()
        thread.join()
    paths = {path for path, _ in _Receiver.received}
    assert paths == {"/v1/traces"}
    spans = [
        span
        for _, request in _Receiver.received
        for resource in request.resource_spans
        for scoped in resource.scope_spans
        for span in scoped.spans
    ]
    assert {"POST /v1/endpoints/{endpoint}/predict", "champion.call"} <= {s.name for s in spans}
    services = {
        attribute.value.string_value
        for _, request in _Receiver.received
        for resource in request.resource_spans
        for attribute in resource.resource.attributes
        if attribute.key == "service.name"
    }
    assert services == {"champion"}


def test_the_standard_otlp_variable_turns_tracing_on_and_champions_own_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CHAMPION_OTEL_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    assert Settings().otel_endpoint is None
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    assert Settings().otel_endpoint == "http://collector:4318"
    monkeypatch.setenv("CHAMPION_OTEL_ENDPOINT", "http://champion-collector:4318")
    assert Settings().otel_endpoint == "http://champion-collector:4318"
    assert Settings(otel_endpoint="http://given:4318").otel_endpoint == "http://given:4318"
