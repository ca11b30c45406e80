from __future__ import annotations

from champion.alerts import LogSink, WebhookSink, default_sinks
from champion.demo.receiver import WebhookReceiver
from champion.testing import check_sink


def test_every_built_in_sink_keeps_the_contract() -> None:
    assert default_sinks().names() == ["log", "webhook"]
    check_sink(LogSink())
    with WebhookReceiver() as receiver:
        check_sink(WebhookSink(receiver.url))
    assert [body["alert"]["state"] for body in receiver.received] == ["open", "resolved"]
