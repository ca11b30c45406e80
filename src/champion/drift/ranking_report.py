"""A ranker's drift report: one self-contained HTML page (Plotly inlined, no CDN) and its JSON.

The same numbers as ``GET /v1/endpoints/{e}/ranking-monitor`` (``RankingMonitor.to_json``):
per version what it showed against the window before, the shown items' shares beside the
window before's, click-through by position, and context drift or why there is none. The page
is ``templates/ranking_report.html``, drawn as the drift report is (:mod:`champion.drift.pages`).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import orjson

from champion.drift.pages import render_page
from champion.drift.ranking import RankingMonitor

__all__ = ["write_ranking_report"]


def _figure(version: dict[str, Any]) -> dict[str, Any]:
    buckets = version["item_drift"]["buckets"]
    # Plotly reads tags (<a>, <b>, <br>) in labels: escaped, an item id shows as sent.
    labels = [html.escape(b["item"], quote=False) for b in buckets]
    bars = [
        {"type": "bar", "name": name, "x": labels, "y": [b[key] for b in buckets]}
        for key, name in (("reference", "window before"), ("current", version["version"]))
    ]
    layout = {
        "barmode": "group",
        "height": 280,
        "margin": {"l": 50, "r": 10, "t": 10, "b": 90},
        "yaxis": {"title": "share of impressions", "tickformat": ".0%"},
        "xaxis": {"type": "category"},
        "legend": {"orientation": "h", "y": 1.15},
    }
    return {"data": bars, "layout": layout}


def _page(body: dict[str, Any]) -> str:
    charts = [(f"items-{i}", version) for i, version in enumerate(body["versions"])]
    return render_page(
        "ranking_report.html",
        title=f"Ranker report: endpoint {body['endpoint']}",
        figures={chart: _figure(version) for chart, version in charts},
        body=body,
        shown_rows=[("window before", body["reference"])]
        + [(version["version"], version) for version in body["versions"]],
        charts=charts,
    )


def write_ranking_report(
    result: RankingMonitor, html_path: Path, json_path: Path | None = None
) -> Path:
    """Write the HTML report (and its JSON beside it, or at ``json_path``); return the HTML."""
    body = result.to_json()
    html_path.parent.mkdir(parents=True, exist_ok=True)
    json_path = json_path or html_path.with_suffix(".json")
    json_path.write_bytes(orjson.dumps(body, option=orjson.OPT_INDENT_2))
    html_path.write_text(_page(body), encoding="utf-8")
    return html_path
