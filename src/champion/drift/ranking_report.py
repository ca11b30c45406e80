"""A ranker's drift report: one self-contained HTML page (Plotly inlined, no CDN) and its JSON.

The same numbers as ``GET /v1/endpoints/{e}/ranking-monitor`` (``RankingMonitor.to_json``):
per version what it showed against the window before, the shown items' shares beside the
window before's, click-through by position, and context drift or why there is none. Charts
are drawn by the drift report's one fixed script from a JSON block, under the same policy.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import orjson

from champion.drift.ranking import RankingMonitor

# The drift report's page policy and drawing script, shared so both pages allow one script.
from champion.drift.report import _DRAW, _policy, script_json
from champion.plotlyjs import plotly_js

__all__ = ["write_ranking_report"]


def _esc(value: Any) -> str:
    return html.escape(str(value))


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _p(value: float | None) -> str:
    return "-" if value is None else "< 0.0001" if value < 1e-4 else f"{value:.2g}"


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


def _row(name: str, shown: dict[str, Any]) -> str:
    drift = shown.get("item_drift")
    cells = [
        name,
        f"{shown['impressions']:,}",
        f"{shown['units']:,}",
        f"{shown['distinct_items']:,}",
        _share(shown["coverage"]),
        _share(shown.get("reference_coverage_at_same_impressions")),
        _num(shown["gini"]),
        _num(shown["mean_popularity_rank"], 1),
        "" if drift is None else f"p {_p(drift['p_value'])}, JS {_num(drift['js_distance'])}",
        "" if drift is None else "drift" if drift["drifted"] else "no drift",
    ]
    verdict = "drift" if drift and drift["drifted"] else "ok"
    return f"<tr class='{verdict}'>{''.join(f'<td>{_esc(c)}</td>' for c in cells)}</tr>"


def _positions(version: dict[str, Any]) -> str:
    ctr = version["click_through"]
    rows = []
    for row in [{"positions": "all", **ctr}, *ctr["by_position"]]:
        interval = "-" if row["ci"] is None else f"[{row['ci'][0]:.4f}, {row['ci'][1]:.4f}]"
        cells = (version["version"], row["positions"], f"{row['impressions']:,}",
                 f"{row['clicked']:,}", _share(row["ctr"]), interval)  # fmt: skip
        rows.append(f"<tr>{''.join(f'<td>{_esc(c)}</td>' for c in cells)}</tr>")
    return "".join(rows)


def _context(version: dict[str, Any]) -> str:
    context = version["context"]
    if not context["available"]:
        return f"<p>{_esc(context['message'])}</p>"
    drift = context["drift"]
    return (
        f"<p>{_esc(version['version'])}: {len(drift['drifted_columns'])} of "
        f"{len(drift['columns'])} context inputs drifted "
        f"({_esc(', '.join(drift['drifted_columns']) or 'none')}).</p>"
    )


def _page(body: dict[str, Any]) -> str:
    figures = {f"items-{i}": _figure(v) for i, v in enumerate(body["versions"])}
    charts = "".join(
        f"<section><h3>{_esc(v['version'])}: shown items</h3><div id='items-{i}'></div></section>"
        for i, v in enumerate(body["versions"])
    )
    rows = _row("window before", body["reference"]) + "".join(
        _row(v["version"], v) for v in body["versions"]
    )
    plotly = plotly_js()
    message = f"<p><strong>{_esc(body['message'])}</strong></p>" if body["message"] else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_policy(plotly, _DRAW)}">
<meta name="referrer" content="no-referrer">
<title>Ranker report: endpoint {_esc(body["endpoint"])}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
table {{ border-collapse: collapse; margin: 1rem 0; }}
td, th {{ border-bottom: 1px solid #ddd; padding: 0.3rem 0.7rem; text-align: left; }}
tr.drift td {{ color: #b52b27; }}
section {{ margin: 1.5rem 0; }}
</style>
<script>{plotly}</script></head>
<body>
<h1>Ranker report: endpoint {_esc(body["endpoint"])}</h1>
<p>From {_esc(body["start"])} to {_esc(body["end"])}, against the window before ({
        _esc(body["reference_start"])
    } to {_esc(body["reference_end"])}). Catalogue:
{body["catalogue"]["size"]:,} items ({_esc(body["catalogue"]["source"])}); popularity from that
window's {_esc(body["popularity_basis"])} (rank 1: the most popular).</p>{message}
<table><tr><th>version</th><th>impressions</th><th>users</th><th>distinct items</th>
<th>coverage</th><th>coverage before, same impressions</th><th>exposure Gini</th>
<th>mean popularity rank</th><th>item drift</th><th>verdict</th></tr>{rows}</table>
<h2>Click-through by position (95 % interval over users)</h2>
<table><tr><th>version</th><th>positions</th><th>impressions</th><th>clicked</th>
<th>click-through</th><th>interval</th></tr>
{"".join(_positions(v) for v in body["versions"])}</table>
<h2>Context inputs</h2>
{"".join(_context(v) for v in body["versions"])}
<h2>Shown items against the window before</h2>
{charts}
<script type="application/json" id="figures">{script_json(figures)}</script>
<script>{_DRAW}</script>
</body></html>
"""


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
