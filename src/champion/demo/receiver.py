"""A webhook receiver on loopback: what a chat or paging service would get from champion.

The demo starts one to show an alert arriving; the tests use it as a real server (it can be
told to fail or to answer slowly).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["WebhookReceiver"]


class WebhookReceiver:
    """Records every JSON body posted to it; use as a context manager.

    It answers ``status`` to the first ``failures`` posts, then 200; ``delay`` seconds slow
    each answer.
    """

    def __init__(self, failures: int = 0, status: int = 500, delay: float = 0.0) -> None:
        self.received: list[dict[str, Any]] = []
        self.attempts = 0
        self.failures = failures
        self.status = status
        self.delay = delay
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.attempts += 1
                time.sleep(receiver.delay)
                if receiver.attempts <= receiver.failures:
                    self.send_response(receiver.status)
                    self.end_headers()
                    return
                receiver.received.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def wait(self, count: int = 1, timeout: float = 30.0) -> bool:
        """Wait until ``count`` deliveries arrived; False on timeout."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return len(self.received) >= count

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
