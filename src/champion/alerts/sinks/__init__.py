"""Where alerts go: the Sink protocol and its registry (``log``, ``webhook``).

A sink is built from the rule's configuration, ``{"type": "webhook", "url": ...}``: the
registry maps the type to a factory taking the other keys as parameters. Third parties
register factories under the ``champion.sinks`` entry-point group.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from champion.alerts.rules import Alert
from champion.alerts.sinks.log import LogSink
from champion.alerts.sinks.webhook import WebhookSink
from champion.errors import InvalidInput
from champion.plugins import Registry

__all__ = ["LogSink", "Sink", "SinkFactory", "WebhookSink", "build_sink", "default_sinks"]


class Sink(Protocol):
    """Delivers one alert (opened or resolved); raises if it could not, within its timeout."""

    @property
    def name(self) -> str: ...

    def send(self, alert: Alert) -> None: ...


SinkFactory = Callable[..., Sink]


def default_sinks() -> Registry[SinkFactory]:
    """A fresh registry of the built-in sinks and those from ``champion.sinks``.

    >>> default_sinks().names()
    ['log', 'webhook']
    """
    sinks: Registry[SinkFactory] = Registry("sink", "sinks", "champion.sinks")
    sinks.register("log", LogSink)
    sinks.register("webhook", WebhookSink)
    return sinks


def build_sink(config: Mapping[str, Any], registry: Registry[SinkFactory]) -> Sink:
    """Build the sink ``config`` describes: ``{"type": name, **parameters}``.

    >>> build_sink({"type": "webhook", "url": "http://127.0.0.1:9/hook"}, default_sinks()).name
    'webhook http://127.0.0.1:9/hook'
    """
    params = dict(config)
    kind = params.pop("type", None)
    if not isinstance(kind, str):
        raise InvalidInput(
            f"A sink needs a 'type' (one of {', '.join(registry.names())}). Got {dict(config)!r}."
        )
    factory = registry.get(kind)
    try:
        return factory(**params)
    except TypeError as exc:
        raise InvalidInput(f"Invalid parameters for the {kind!r} sink: {exc}.") from None
