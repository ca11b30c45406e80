"""The dashboard's HTTP layer: its pages (empty shells, no data) and its static files."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from champion import __version__, plotlyjs
from champion.access.binding import is_loopback
from champion.api.state import state_of
from champion.dashboard import PAGES, STATIC, TEMPLATES, Page
from champion.errors import NotFound
from champion.services import Services

__all__ = ["CSP", "router"]

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=TEMPLATES)
MISSING = "missing.html"
_STATIC_NAME = re.compile(r"[a-z0-9_-]{1,64}\.(js|css)")
_CACHE = {"Cache-Control": "public, max-age=3600"}
# Pages run only the dashboard's own files: no inline script, nothing from elsewhere, so a value
# that reached the page as markup still runs nothing. Plotly sets styles as it draws.
CSP = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:; "
        "style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )
}


def _page_route(page: Page) -> Any:
    def render(request: Request, name: str = "") -> HTMLResponse:
        context = {"page": page, "pages": PAGES, "name": name, "version": __version__}
        if "{name}" in page.path and _open(request):
            services = state_of(request).services
            try:
                services.endpoints.get(name)
            except NotFound:
                # A page about nothing would show empty panels: say so, with a 404. (With
                # tokens the page cannot tell who asks, so its script says it instead: the
                # shell must not tell strangers which endpoints exist.)
                context["message"] = f"There is no endpoint {name!r} on this server."
                return templates.TemplateResponse(
                    request, MISSING, context, status_code=404, headers=CSP
                )
            # The script then asks for the report at once, not after the list of
            # experiments: the server computes it while the browser runs plotly.js (half a
            # second), which would otherwise hold that second request back.
            context["experiment"] = page.name == "endpoint" and _has_experiment(services, name)
        return templates.TemplateResponse(request, page.template, context, headers=CSP)

    render.__name__ = f"dashboard_{page.name}"
    return render


def _has_experiment(services: Services, endpoint: str) -> bool:
    try:
        services.experiments.get(endpoint)
    except NotFound:
        return False
    return True


def _open(request: Request) -> bool:
    """Whether anyone may read this server's data without a token (no token exists and it
    listens on loopback only)."""
    state = state_of(request)
    return state.keyring.empty and is_loopback(state.services.settings.host)


for _page in PAGES:
    router.add_api_route(
        _page.path, _page_route(_page), methods=["GET"], response_class=HTMLResponse
    )


@router.get("/static/plotly.min.js")
def plotly() -> Response:
    return FileResponse(plotlyjs.PATH, media_type="text/javascript", headers=_CACHE)


@router.get("/static/{filename}")
def static(filename: str) -> Response:
    # Only files of the dashboard's own folder, by a plain name: no path reaches elsewhere.
    # A route, not Starlette's StaticFiles: the allow-list of names is narrower than any path
    # resolution, a miss is champion's JSON 404 like every other, and StaticFiles would need
    # a subclass for the no-cache header all the same.
    path = STATIC / filename
    if not _STATIC_NAME.fullmatch(filename) or not path.is_file():
        raise NotFound(f"No static file {filename!r}.")
    return FileResponse(path, headers={"Cache-Control": "no-cache"})
