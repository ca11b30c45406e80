"""The dashboard: HTML pages whose numbers all come from the JSON API, refreshed in place.

A page is a template under ``templates/``, its script ``static/<name>.js`` (pages hold no
inline script: their Content-Security-Policy allows only the dashboard's own files) and one
``Page`` entry here; the script reads the API with the helpers of ``static/dashboard.js``.
plotly.js is shipped inside champion (:mod:`champion.plotlyjs`), so the dashboard works
offline.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["PAGES", "STATIC", "TEMPLATES", "Page"]

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


@dataclass(frozen=True)
class Page:
    """One page: its path (``{name}`` for the one path parameter), template and nav title."""

    name: str
    path: str
    template: str
    title: str
    in_nav: bool = True


PAGES = (
    Page("overview", "/", "overview.html", "Overview"),
    Page("endpoint", "/endpoints/{name}", "endpoint.html", "Endpoint", in_nav=False),
    Page("drift", "/endpoints/{name}/drift", "drift.html", "Drift", in_nav=False),
    Page("registry", "/registry", "registry.html", "Registry"),
    Page("alerts", "/alerts", "alerts.html", "Alerts"),
    Page("pipelines", "/pipelines", "pipelines.html", "Pipelines"),
    Page("audit", "/audit", "audit.html", "Audit log"),
)
