"""Log lines as JSON objects or text, with the ids of the request they were written for."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import orjson
import pytest

from champion.observability import RequestContext, configure_logging


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    access = logging.getLogger("champion.access").level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("champion.access").setLevel(access)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_json_lines_carry_time_level_logger_message_extras_and_the_request_ids() -> None:
    stream = io.StringIO()
    configure_logging("json", "info", stream)
    context = RequestContext.start("client-7")
    token = context.enter()
    try:
        logging.getLogger("champion.serving").warning("Version %s failed", "churn/2")
    finally:
        RequestContext.leave(token)
    logging.getLogger("champion.events").info("written", extra={"events": 3})
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("champion.api").exception("Refreshing failed")

    first, second, third = (orjson.loads(line) for line in _lines(stream))
    assert first["message"] == "Version churn/2 failed"
    assert (first["level"], first["logger"]) == ("WARNING", "champion.serving")
    assert first["time"].endswith("Z") and first["time"][10] == "T"
    assert first["request_id"] == context.request_id
    assert first["client_request_id"] == "client-7"
    assert "request_id" not in second  # written outside any request
    assert second["events"] == 3
    assert third["exception"].splitlines()[-1] == "RuntimeError: boom"


def test_auto_is_text_on_a_terminal_and_json_elsewhere() -> None:
    terminal = _Terminal()
    configure_logging("auto", "info", terminal)
    logging.getLogger("champion").info("on a terminal", extra={"status": 200})
    [line] = _lines(terminal)
    assert line.endswith(" INFO champion: on a terminal status=200")

    piped = io.StringIO()
    configure_logging("auto", "info", piped)
    logging.getLogger("champion").info("in a pipe")
    assert orjson.loads(_lines(piped)[0])["message"] == "in a pipe"


def test_uvicorn_lines_go_the_same_way_once() -> None:
    stream = io.StringIO()
    uvicorn_error = logging.getLogger("uvicorn.error")
    uvicorn_error.addHandler(logging.StreamHandler(io.StringIO()))  # as uvicorn's config would
    configure_logging("json", "info", stream)
    uvicorn_error.info("Application startup complete.", extra={"color_message": "\x1b[1m"})
    [line] = _lines(stream)
    body = orjson.loads(line)
    assert (body["logger"], body["message"]) == ("uvicorn.error", "Application startup complete.")
    assert "color_message" not in body


def test_the_access_log_is_written_at_any_level_when_asked() -> None:
    stream = io.StringIO()
    configure_logging("json", "warning", stream, access_log=True)
    logging.getLogger("champion.access").info("GET /v1/health 200 0.4 ms")
    logging.getLogger("champion.serving").info("not at warning level")
    assert [orjson.loads(line)["logger"] for line in _lines(stream)] == ["champion.access"]


def test_an_extra_field_json_cannot_hold_is_written_as_text() -> None:
    stream = io.StringIO()
    configure_logging("json", "info", stream)
    logging.getLogger("champion").info("odd", extra={"value": {1, 2}.__class__})
    assert orjson.loads(_lines(stream)[0])["value"] == "<class 'set'>"


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("7f3c2a9e-1b2d-4c5e-8f90-a1b2c3d4e5f6", True),
        ("Root=1-67891233-abcdef012345678912345678", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("two words", False),
        ("tab\there", False),
        ("", False),
        (None, False),
    ],
)
def test_a_client_request_id_is_kept_only_when_valid(sent: str | None, kept: bool) -> None:
    context = RequestContext.start(sent)
    assert context.client_request_id == (sent if kept else None)
    assert context.header == (sent if kept else context.request_id)
    assert len(context.request_id) == 32


def test_a_request_gives_its_id_to_one_event_only() -> None:
    context = RequestContext.start(None)
    first, second = context.event_id(), context.event_id()
    assert first == context.request_id
    assert second != first and len(second) == 32
