"""Debian's Chromium through Playwright, watching a page for script that should never run.

Hostile values call ``alert`` (a dialog Playwright sees) and, where they could, the page's
``window.__ran``; a Content-Security-Policy violation is recorded too: it means a value
reached the page as markup, even if the policy then stopped it.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tests.e2e.test_dashboard import FLAGS, _chromium, record_errors

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Dialog, Page

# Each tries to run script where it lands: in a <script>, in an attribute, in markup.
HOSTILE = [
    "</script><script>window.__ran=1;alert(1)</script>",
    '"><img src=x onerror="window.__ran=2;alert(2)">',
    "'><svg onload=alert(3)>",
    "<a href=javascript:alert(4)>x</a>\u2028",
]
WATCH = """
window.__ran = 0;
document.addEventListener("securitypolicyviolation", (e) => {
  (window.__violations ||= []).push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""


@dataclass
class Watched:
    """What a page did that it should not have."""

    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def ran(self, page: Page) -> list[object]:
        """Dialogs, script marks and policy violations seen so far; [] when nothing ran."""
        marks = page.evaluate("[window.__ran, ...(window.__violations || [])]")
        return [*self.dialogs, *(m for m in marks if m)]


@contextmanager
def chromium(*flags: str) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=[*FLAGS, *flags])
        try:
            yield browser
        finally:
            browser.close()


def watch(page: Page) -> Watched:
    watched = Watched()
    page.add_init_script(WATCH)

    def dialog(d: Dialog) -> None:
        watched.dialogs.append(d.message)
        d.dismiss()

    page.on("dialog", dialog)
    record_errors(page, watched.errors)
    return watched


@contextmanager
def static_site(root: str, host: str = "127.0.0.2") -> Iterator[str]:
    """Serve the files of ``root`` on another origin (another loopback address and port)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=root, **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer((host, 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
