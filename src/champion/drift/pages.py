"""The drift reports' HTML: Jinja2 templates (``templates/``), escaped by default, and the one
fixed script that draws their charts.

A report is one self-contained page: plotly.js inlined (no CDN), the charts' data in a JSON
block that no browser runs, and a policy that lets exactly two scripts run, by hash: Plotly
and the drawing script. Every value reaches the page escaped (autoescape), so a hostile
column name or category is text, never markup.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from pathlib import Path
from typing import Any

import orjson
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from champion.plotlyjs import plotly_js

__all__ = ["DRAW", "number", "render_page", "script_json"]

TEMPLATES = Path(__file__).parent / "templates"

DRAW = (
    "for (const [id, f] of Object.entries(JSON.parse("
    "document.getElementById('figures').textContent))) "
    "Plotly.newPlot(id, f.data, f.layout, {displayModeBar: false, responsive: true});"
)
"""The one script that draws a report's charts, from the JSON block ``figures``."""

# JSON that cannot end its <script> block or open a comment, whatever text it holds; U+2028
# and U+2029 are escaped too, for readers that take the block for JavaScript.
_SCRIPT_SAFE = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def script_json(value: Any) -> str:
    """JSON to embed in an HTML ``<script>`` element: no ``<``, ``>``, ``&``, U+2028/9 in it.

    >>> script_json({"label": "</script><b>"})
    '{"label":"\\\\u003c/script\\\\u003e\\\\u003cb\\\\u003e"}'
    """
    return orjson.dumps(value).decode().translate(_SCRIPT_SAFE)


def number(value: Any) -> str:
    """A statistic for a table cell: three significant digits, ``-`` for None.

    >>> number(0.123456), number(0.0000123), number(None)
    ('0.123', '1.23e-05', '-')
    """
    if value is None:
        return "-"
    return f"{value:.3g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _fixed(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _p_value(value: float | None) -> str:
    return "-" if value is None else "< 0.0001" if value < 1e-4 else f"{value:.2g}"


def _hash(script: str) -> str:
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    return f"'sha256-{digest}'"


def _policy(*scripts: str) -> str:
    return (
        f"default-src 'none'; script-src {' '.join(map(_hash, scripts))}; "
        "style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
    )


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    environment.filters.update(
        number=number,
        share=_share,
        fixed=_fixed,
        p_value=_p_value,
        thousands=lambda value: f"{value:,}",
        percent=lambda value, digits: f"{value:.{digits}%}",
    )
    return environment


def render_page(template: str, *, title: str, figures: dict[str, Any], **context: Any) -> str:
    """The page of ``template`` with ``title``, the charts of ``figures`` (element id →
    Plotly figure) and plotly.js inlined."""
    plotly = plotly_js()
    return (
        _environment()
        .get_template(template)
        .render(
            title=title,
            # Ours, not values: the policy's hashes, plotly.js, the drawing script and JSON that
            # script_json made safe for a <script> block go in as they are.
            policy=Markup(_policy(plotly, DRAW)),
            plotly=Markup(plotly),
            draw=Markup(DRAW),
            figures=Markup(script_json(figures)),
            **context,
        )
    )
