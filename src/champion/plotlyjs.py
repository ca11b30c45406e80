"""plotly.js, shipped inside champion: the dashboard serves it and the HTML drift reports
inline it, so neither needs a CDN nor the plotly Python package (64 MB for this one file).

``plotly.min.js`` is plotly.js 4.1.1's cartesian bundle, as the npm package
``plotly.js-cartesian-dist-min`` 4.1.1 ships it (``plotly-cartesian.min.js``), MIT-licensed
(``plotly.min.js.LICENSE.txt`` beside it), unchanged. It holds the 2-D chart types champion
draws (``TRACES``) and none of the WebGL, 3-D or map ones: 1.5 MB instead of the full
bundle's 4.8 MB, which a browser parses and runs in a third of the time before a dashboard
page can draw, and which every self-contained report carries. To update it, copy a newer
release's ``plotly-cartesian.min.js`` over it and change ``VERSION``; a chart of a type the
bundle lacks fails ``tests/dashboard/test_pages.py``.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

__all__ = ["PATH", "VERSION", "plotly_js", "trace_types"]

PATH = Path(__file__).parent / "plotly.min.js"
VERSION = "4.1.1"


def plotly_js() -> str:
    """The whole script, to inline in a self-contained HTML page.

    >>> plotly_js().startswith(f"/**\\n* plotly.js (cartesian - minified) v{VERSION}\\n")
    True
    """
    return PATH.read_text(encoding="utf-8")


@cache
def trace_types() -> frozenset[str]:
    """The chart (trace) types the shipped bundle registers.

    >>> sorted(trace_types() & {"bar", "heatmap", "scatter", "scatter3d"})
    ['bar', 'heatmap', 'scatter']
    """
    return frozenset(re.findall(r'moduleType:"trace",name:"(\w+)"', plotly_js()))
