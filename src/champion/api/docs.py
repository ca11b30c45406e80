"""The API's own documents, /docs (Swagger UI) and /redoc (ReDoc), served without internet.

FastAPI's pages load Swagger UI and ReDoc from a CDN and start them with an inline script, so
offline they are blank and they need a policy that lets inline script run. These pages take
the same JavaScript from the ``fastapi-offline`` package (which ships both bundles, kept in
step with FastAPI's own choice of versions) and start it from a file of ours, so they run
under a Content-Security-Policy as strict as the dashboard's: scripts only from this server.
Both libraries set styles as they draw (ReDoc injects ``<style>`` elements) and ReDoc's search
runs in a worker it builds from a ``blob:`` URL: the policy allows exactly those two things.
The one remote address in ReDoc's bundle, its sidebar's logo, is replaced as the bundle is
served by an empty image, which ReDoc hides: the pages ask no other host for anything.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response

from champion.errors import NotFound

__all__ = ["ASSETS", "CSP", "router"]

ASSETS = "/docs/assets"
"""Where the pages' scripts and styles are served."""

CSP = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:; "
        "style-src 'self' 'unsafe-inline'; worker-src 'self' blob:; font-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

_VENDOR = Path(str(importlib.resources.files("fastapi_offline"))) / "static"
_OWN = Path(__file__).parent / "docs_static"
# Name -> file: a fixed list, so no request path reaches any other file.
_FILES = {
    "swagger-ui-bundle.js": _VENDOR / "swagger-ui-bundle.js",
    "swagger-ui.css": _VENDOR / "swagger-ui.css",
    "favicon.png": _VENDOR / "favicon.png",
    "swagger-init.js": _OWN / "swagger-init.js",
    "redoc-init.js": _OWN / "redoc-init.js",
}
_CACHE = {"Cache-Control": "public, max-age=3600"}

router = APIRouter(include_in_schema=False)

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>champion API - {title}</title>
<link rel="icon" href="{assets}/favicon.png">
{head}
</head>
<body>
{body}
</body>
</html>
"""


def _page(title: str, head: str, body: str) -> HTMLResponse:
    html = _PAGE.format(title=title, assets=ASSETS, head=head, body=body)
    return HTMLResponse(html, headers=CSP)


@router.get("/docs")
def swagger_ui() -> HTMLResponse:
    return _page(
        "Swagger UI",
        f'<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">',
        f'<div id="swagger-ui" data-openapi="/openapi.json"></div>\n'
        f'<script src="{ASSETS}/swagger-ui-bundle.js"></script>\n'
        f'<script src="{ASSETS}/swagger-init.js"></script>',
    )


@router.get("/redoc")
def redoc() -> HTMLResponse:
    return _page(
        "ReDoc",
        "",
        f'<div id="redoc" data-openapi="/openapi.json"></div>\n'
        f'<script src="{ASSETS}/redoc.standalone.js"></script>\n'
        f'<script src="{ASSETS}/redoc-init.js"></script>',
    )


_REDOC_LOGO = re.compile(rb"https://cdn\.redoc\.ly/[^\"]+")


@functools.cache
def _redoc_bundle() -> bytes:
    return _REDOC_LOGO.sub(b"data:,", (_VENDOR / "redoc.standalone.js").read_bytes())


@router.get(ASSETS + "/{name}")
def asset(name: str) -> Response:
    if name == "redoc.standalone.js":
        return Response(_redoc_bundle(), media_type="text/javascript", headers=_CACHE)
    path = _FILES.get(name)
    if path is None:
        known = ", ".join(sorted([*_FILES, "redoc.standalone.js"]))
        raise NotFound(f"No documentation asset {name!r}. Assets: {known}.")
    return FileResponse(path, headers=_CACHE)
