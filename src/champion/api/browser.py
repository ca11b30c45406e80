"""What a web browser may do with the server: guards against other sites, headers on pages.

An open server (loopback, no token) trusts whoever can reach it, and a browser reaches it on
behalf of any site its user visits. Two ways in are closed here, before any route runs:

- **DNS rebinding**: a page of ``attacker.example`` whose name now resolves to 127.0.0.1 is
  same-origin with itself, so the browser lets it read the answers. Its requests still carry
  ``Host: attacker.example``; only loopback names and addresses (and the names listed in
  ``CHAMPION_ALLOWED_HOSTS``) are answered, anything else is a 403.
- **Cross-site writes**: a form, ``fetch(..., {mode: "no-cors"})`` or a multipart upload
  needs no CORS preflight, so the browser sends it and only hides the answer. A POST, PUT,
  PATCH or DELETE is a 403 when its ``Origin`` is another site's (neither the server's own
  nor on a listed name) and, without such an ``Origin``, unless it shows it is no "simple"
  request: a JSON (or any non-form) content type, or a header a page can only send after a
  preflight this server never grants (``X-Champion-Request``, ``Authorization``, Triton's
  ``Inference-Header-Content-Length``). champion's client and CLI send
  ``X-Champion-Request: 1``; the dashboard's pages are the server's own origin.

With tokens, both guards step aside: every call but the dashboard's empty pages and the
health checks needs ``Authorization: Bearer``, a header no browser adds on its own (the
dashboard keeps its token in the page's storage, never in a cookie), so a foreign page
can neither read nor write.

Every answer says ``X-Content-Type-Options: nosniff`` and
``Cross-Origin-Resource-Policy: same-origin``; HTML answers also forbid framing, referrers and
other windows' handles (``Cross-Origin-Opener-Policy``) and carry a Content-Security-Policy
(the dashboard's allows only its own scripts, so a value that slipped into the page as markup
still runs nothing).
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Collection

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from champion.api.errors import error_response
from champion.errors import Forbidden

__all__ = ["REQUEST_HEADER", "BrowserGuard", "is_loopback_host"]

REQUEST_HEADER = "X-Champion-Request"
"""The header champion's own callers send on every call: no page sends it cross-site."""

# For HTML that sets no policy of its own (the dashboard and the API documents set theirs):
# framing, plugins and <base> are forbidden everywhere.
_DEFAULT_CSP = (
    b"content-security-policy",
    b"frame-ancestors 'none'; object-src 'none'; base-uri 'none'",
)
_HTML_HEADERS = (
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)

_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Content types a page may send cross-site without a preflight (the CORS safelist).
_SIMPLE_TYPES = frozenset(
    {"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"}
)
_PREFLIGHTED = frozenset(
    {REQUEST_HEADER.lower().encode(), b"authorization", b"inference-header-content-length"}
)
# On every answer: no content sniffing, and no other origin's page may load it (as a script,
# an image...): a page can still send a no-cors request, but it gets nothing to read.
_EVERY = (
    (b"x-content-type-options", b"nosniff"),
    (b"cross-origin-resource-policy", b"same-origin"),
)


def is_loopback_host(host: str, allowed: Collection[str] = ()) -> bool:
    """True when a Host header's name is a loopback name or address, or one of ``allowed``.

    Examples
    --------
    >>> [is_loopback_host(h) for h in ("localhost:8000", "127.0.0.2", "[::1]:80", "evil.test")]
    [True, True, True, False]
    >>> is_loopback_host("champion.internal:8000", allowed=["champion.internal"])
    True
    """
    name = _hostname(host)
    if name == "localhost" or name in allowed:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class BrowserGuard:
    """Pure ASGI middleware: the per-request cost is one pass over the headers."""

    def __init__(
        self, app: ASGIApp, *, open_when_empty: bool, allowed_hosts: Collection[str] = ()
    ) -> None:
        self.app = app
        self.open_when_empty = open_when_empty
        self.allowed_hosts = frozenset(name.lower() for name in allowed_hosts)
        # Host header -> answered: parsing an address costs ~15 µs, a dict lookup ~50 ns, and a
        # server is reached by a handful of names. Bounded, so junk Host values cannot grow it.
        self._hosts: dict[str, bool] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.open_when_empty and scope["app"].state.champion.keyring.empty:
            refusal = self._refusal(scope)
            if refusal is not None:
                state = scope["app"].state.champion
                state.metrics.access_refused.labels(str(int(refusal.status))).inc()
                await error_response(refusal, scope["path"])(scope, receive, _secured(send))
                return
        await self.app(scope, receive, _secured(send))

    def _refusal(self, scope: Scope) -> Forbidden | None:
        host = origin = content_type = None
        preflighted = False
        for name, value in scope["headers"]:
            if name == b"host":
                host = value.decode("latin-1")
            elif name == b"origin":
                origin = value.decode("latin-1")
            elif name == b"content-type":
                content_type = value.decode("latin-1")
            elif name in _PREFLIGHTED:
                preflighted = True
        # No Host at all is no browser (every browser sends one): nothing to rebind.
        if host is not None and not self._answers(host):
            return Forbidden(
                f"Host {host!r} is not a loopback name: an open server (no token) answers "
                "only localhost, 127.0.0.0/8 and [::1], so that a page of another site "
                "cannot reach it by DNS rebinding. List the names it is reached by in "
                "CHAMPION_ALLOWED_HOSTS, or create a token ('champion tokens create')."
            )
        if scope["method"] not in _WRITES:
            return None
        if origin is not None:
            # Its own page, or one on a name the operator listed (behind a proxy on this
            # machine, the Host may be the upstream's address while the page's is the name).
            if _same_origin(origin, host) or _origin_name(origin) in self.allowed_hosts:
                return None
            return Forbidden(
                f"Origin {origin!r} is another site: an open server (no token) takes no "
                "changes from other sites' pages. Use the dashboard, the CLI or the client "
                f"on {host or 'this server'}."
            )
        if preflighted or _preflighted_type(content_type):
            return None
        return Forbidden(
            f"A {scope['method']} without a JSON body needs the header "
            f"'{REQUEST_HEADER}: 1' on an open server (no token), so that no page of another "
            "site can send it from a form; champion's client and CLI send it."
        )

    def _answers(self, host: str) -> bool:
        known = self._hosts.get(host)
        if known is None:
            known = is_loopback_host(host, self.allowed_hosts)
            if len(self._hosts) < _KNOWN_HOSTS:
                self._hosts[host] = known
        return known


_KNOWN_HOSTS = 256


def _secured(send: Send) -> Send:
    async def secured(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [*message.get("headers", ()), *_EVERY]
            for name, value in headers:
                if name == b"content-type":
                    if value.startswith(b"text/html"):
                        _add_html_headers(headers)
                    break
            message = {**message, "headers": headers}
        await send(message)

    return secured


def _add_html_headers(headers: list[tuple[bytes, bytes]]) -> None:
    if all(name != b"content-security-policy" for name, _ in headers):
        headers.append(_DEFAULT_CSP)
    headers += _HTML_HEADERS


def _hostname(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):  # [::1]:8000
        return host[1 : host.find("]")] if "]" in host else host
    name, _, port = host.rpartition(":")
    return name if name and port.isdigit() else host


def _same_origin(origin: str, host: str | None) -> bool:
    scheme, _, rest = origin.lower().partition("://")
    if host is None or scheme not in ("http", "https") or not rest:
        return False  # 'null' (a sandboxed frame, a file) is no one's origin
    default = ":443" if scheme == "https" else ":80"
    return rest.removesuffix(default) == host.lower().removesuffix(default)


def _origin_name(origin: str) -> str:
    return _hostname(origin.lower().partition("://")[2])


@functools.lru_cache(maxsize=64)  # a server sees a handful of content types
def _preflighted_type(content_type: str | None) -> bool:
    if content_type is None:
        return False
    essence = content_type.partition(";")[0].strip().lower()
    # A browser sends anything else only after a preflight; an unparsable value is refused.
    return "/" in essence and "," not in essence and essence not in _SIMPLE_TYPES
