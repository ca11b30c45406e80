"""The webhook sink: POST the alert as JSON, with a timeout and retries with backoff."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from champion.alerts.rules import Alert
from champion.errors import InvalidInput, Unavailable
from champion.validation import check_float, check_int

if TYPE_CHECKING:
    import httpx

__all__ = ["WebhookSink"]


class WebhookSink:
    """``POST url`` with ``{"text": message, "alert": {...}}`` (Slack-style ``text``).

    A connection error, a timeout or a 5xx/429 answer is retried ``retries`` times after
    ``backoff_seconds * 2**attempt``; another 4xx is final. Raises ``Unavailable`` when
    every try failed. ``transport`` is httpx's seam (tests pass a real local server instead).

    >>> WebhookSink("ftp://example.org/hook")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    champion.errors.InvalidInput: The 'url' parameter of WebhookSink must be an http://...
    """

    def __init__(
        self,
        url: str,
        timeout_seconds: float = 5.0,
        retries: int = 3,
        backoff_seconds: float = 0.5,
        headers: dict[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise InvalidInput(
                "The 'url' parameter of WebhookSink must be an http:// or https:// URL. "
                f"Got {url!r} instead."
            )
        self.url = url
        self.timeout_seconds = check_float(
            "WebhookSink", "timeout_seconds", timeout_seconds, 0.0, 300.0, closed="right"
        )
        self.retries = check_int("WebhookSink", "retries", retries, 0)
        self.backoff_seconds = check_float(
            "WebhookSink", "backoff_seconds", backoff_seconds, 0.0, 60.0, closed="both"
        )
        self.headers = dict(headers or {})
        self.transport = transport
        self.sleep = sleep

    @property
    def name(self) -> str:
        return f"webhook {self.url}"

    def payload(self, alert: Alert) -> dict[str, Any]:
        return {
            "text": f"[{alert.severity}] {alert.state}: {alert.message}",
            "alert": alert.to_json(),
        }

    def send(self, alert: Alert) -> None:
        # A loop, not a retry library (tenacity): which answers are retried (transport errors,
        # 5xx, 429) and which are final (another 4xx) would be spelled out for it all the
        # same, and the sleep stays a seam the tests replace.
        import httpx  # here: every server builds its sinks, few send to a webhook

        body = self.payload(alert)
        last = ""
        with httpx.Client(timeout=self.timeout_seconds, transport=self.transport) as client:
            for attempt in range(self.retries + 1):
                if attempt:
                    self.sleep(self.backoff_seconds * 2 ** (attempt - 1))
                try:
                    response = client.post(self.url, json=body, headers=self.headers)
                except httpx.HTTPError as exc:
                    last = f"{type(exc).__name__}: {exc}"
                    continue
                if response.is_success:
                    return
                last = f"HTTP {response.status_code}"
                if response.status_code < 500 and response.status_code != 429:
                    break
        raise Unavailable(f"Webhook {self.url} failed after {attempt + 1} tries: {last}.")
