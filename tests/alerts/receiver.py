"""A real HTTP server on loopback that records webhook deliveries (no mocks)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Receiver"]


class Receiver:
    """Answers ``status`` to the first ``failures`` posts, then 200; ``delay`` slows each."""

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

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
