"""Every chart the dashboard and the reports draw is of a type the shipped plotly.js holds."""

from __future__ import annotations

import re
from pathlib import Path

from champion import plotlyjs

# Where champion builds charts: the dashboard's scripts and the HTML reports' figures.
CHART_SOURCES = [
    *(Path(plotlyjs.__file__).parent / "dashboard" / "static").glob("*.js"),
    *(Path(plotlyjs.__file__).parent / "drift").glob("*report*.py"),
]
# ``type`` also names an axis's scale and a shape's kind; every other value is a trace type.
NOT_TRACES = {
    "category",
    "date",
    "linear",
    "log",
    "multicategory",
    "line",
    "rect",
    "circle",
    "path",
}


def test_every_chart_champion_draws_is_of_a_type_the_shipped_plotly_bundle_holds() -> None:
    drawn = {
        (path.name, kind)
        for path in CHART_SOURCES
        for kind in re.findall(r"""["']?type["']?: *["'](\w+)["']""", path.read_text())
        if kind not in NOT_TRACES
    }
    assert {kind for _, kind in drawn} >= {"bar", "scatter", "heatmap"}  # the scan finds them
    assert {(name, kind) for name, kind in drawn if kind not in plotlyjs.trace_types()} == set()
