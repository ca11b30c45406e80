from __future__ import annotations

from datetime import UTC, datetime

import pytest

from champion.alerts import Alert, WebhookSink, build_sink, default_sinks
from champion.demo.receiver import WebhookReceiver
from champion.errors import InvalidInput, Unavailable, UnknownName

AT = datetime(2026, 1, 1, tzinfo=UTC)
ALERT = Alert(
    id=1, rule="drift", endpoint="churn", metric="drift_share", severity="critical",
    state="open", value=0.5, threshold=0.2, message="50% of columns drifted", opened_at=AT,
    last_value=0.5, last_evaluated_at=AT,
)  # fmt: skip


def test_webhook_posts_the_alert_as_json() -> None:
    with WebhookReceiver() as receiver:
        WebhookSink(receiver.url).send(ALERT)
    assert receiver.received == [
        {"text": "[critical] open: 50% of columns drifted", "alert": ALERT.to_json()}
    ]


def test_webhook_retries_server_errors_with_backoff() -> None:
    waits: list[float] = []
    with WebhookReceiver(failures=2, status=503) as receiver:
        WebhookSink(receiver.url, retries=3, backoff_seconds=0.01, sleep=waits.append).send(ALERT)
    assert receiver.attempts == 3 and len(receiver.received) == 1
    assert waits == [0.01, 0.02]


def test_webhook_gives_up_after_its_retries_and_on_client_errors() -> None:
    with WebhookReceiver(failures=10, status=500) as receiver:
        sink = WebhookSink(receiver.url, retries=2, backoff_seconds=0.0)
        with pytest.raises(Unavailable, match="failed after 3 tries: HTTP 500"):
            sink.send(ALERT)
    with WebhookReceiver(failures=10, status=404) as receiver:
        with pytest.raises(Unavailable, match="failed after 1 tries: HTTP 404"):
            WebhookSink(receiver.url, retries=5, backoff_seconds=0.0).send(ALERT)
        assert receiver.attempts == 1


def test_webhook_times_out() -> None:
    with WebhookReceiver(delay=0.5) as receiver:
        sink = WebhookSink(receiver.url, timeout_seconds=0.1, retries=0)
        with pytest.raises(Unavailable, match="ReadTimeout"):
            sink.send(ALERT)


def test_sinks_are_built_from_their_configuration() -> None:
    registry = default_sinks()
    assert build_sink({"type": "log"}, registry).name == "log"
    with pytest.raises(UnknownName, match=r"Unknown sink 'pager'\. Known sinks: log, webhook"):
        build_sink({"type": "pager"}, registry)
    with pytest.raises(InvalidInput, match="needs a 'type'"):
        build_sink({"url": "http://x"}, registry)
    with pytest.raises(InvalidInput, match="Invalid parameters for the 'webhook' sink"):
        build_sink({"type": "webhook", "url": "http://x", "colour": "red"}, registry)
    with pytest.raises(InvalidInput, match="'retries' parameter of WebhookSink"):
        build_sink({"type": "webhook", "url": "http://x", "retries": -1}, registry)
