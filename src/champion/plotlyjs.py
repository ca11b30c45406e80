"""plotly.js, shipped inside champion: the dashboard serves it and the HTML drift reports
inline it, so neither needs a CDN nor the plotly Python package (64 MB for this one file).

``plotly.min.js`` is plotly.js 4.1.1 as the plotly 7.1.0 package bundles it, MIT-licensed
(``plotly.min.js.LICENSE.txt`` beside it), less four upstream to-do comment lines inside one
WebGL shader's source (comments only: nothing that runs changed). To update it, copy
``package_data/plotly.min.js`` of a newer plotly package over it, drop such comment lines
(the upstream to-do and fix-me notes) and change ``VERSION``.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["PATH", "VERSION", "plotly_js"]

PATH = Path(__file__).parent / "plotly.min.js"
VERSION = "4.1.1"


def plotly_js() -> str:
    """The whole script, to inline in a self-contained HTML page.

    >>> plotly_js().startswith(f"/**\\n* plotly.js v{VERSION}\\n")
    True
    """
    return PATH.read_text(encoding="utf-8")
