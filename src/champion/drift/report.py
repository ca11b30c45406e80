"""The drift report: one self-contained HTML page (Plotly inlined, no CDN) and its JSON.

For every column, most severe first: the reference's and the current window's shares on
the reference's histogram bins (numbers) or per category (the 20 most common reference
categories, the rest grouped), the test, its statistic, p-value, threshold and verdict;
then the data-quality counts of the same window.
"""

from __future__ import annotations

import base64
import hashlib
import html
import itertools
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from champion.drift.monitor import DriftRun
from champion.drift.profile import ColumnProfile
from champion.drift.window import ColumnWindow
from champion.plotlyjs import plotly_js

__all__ = ["distribution", "report_json", "script_json", "write_report"]

TOP_CATEGORIES = 20


def _shares(counts: np.ndarray) -> list[float]:
    total = counts.sum()
    return [float(c / total) if total else 0.0 for c in counts]


def distribution(profile: ColumnProfile, window: ColumnWindow) -> dict[str, Any]:
    """Reference and current shares on a common support, with readable labels.

    >>> from champion.drift.window import ColumnAccumulator
    >>> reference = ColumnProfile.from_values("plan", ["a"] * 6 + ["b"] * 4)
    >>> current = ColumnAccumulator(reference).update(["a", "b", "b", "c"]).window()
    >>> distribution(reference, current)
    {'labels': ['a', 'b', 'c'], 'reference': [0.6, 0.4, 0.0], 'current': [0.25, 0.5, 0.25]}
    """
    if profile.kind == "categorical":
        ref, cur = dict(profile.frequencies or {}), dict(window.frequencies or {})
        keys = sorted(set(ref) | set(cur), key=lambda k: (-ref.get(k, 0), -cur.get(k, 0), k))
        shown, rest = keys[:TOP_CATEGORIES], keys[TOP_CATEGORIES:]
        ref_counts = [ref.get(k, 0) for k in shown]
        cur_counts = [cur.get(k, 0) for k in shown]
        if rest:
            shown = [*shown, f"({len(rest)} others)"]
            ref_counts.append(sum(ref.get(k, 0) for k in rest))
            cur_counts.append(sum(cur.get(k, 0) for k in rest))
        return {
            "labels": shown,
            "reference": _shares(np.array(ref_counts, dtype=float)),
            "current": _shares(np.array(cur_counts, dtype=float)),
        }
    edges = [] if profile.bin_edges is None else [float(e) for e in profile.bin_edges]
    if edges:
        labels = [f"< {edges[0]:.4g}"]
        labels += [f"[{a:.4g}, {b:.4g})" for a, b in itertools.pairwise(edges)]
        labels.append(f">= {edges[-1]:.4g}")
    else:
        labels = ["all values"]
    ref_bins = profile.bin_counts if profile.bin_counts is not None else np.zeros(len(labels))
    cur_bins = window.bin_counts if window.bin_counts is not None else np.zeros(len(labels))
    return {
        "labels": labels,
        "reference": _shares(np.asarray(ref_bins, dtype=float)),
        "current": _shares(np.asarray(cur_bins, dtype=float)),
    }


def report_json(run: DriftRun) -> dict[str, Any]:
    """The report's data: the run's JSON with each column's two distributions."""
    body = run.to_json()
    for column in body["columns"]:
        name = column["column"]
        window = run.drift.windows.get(name)
        if window is not None:
            column["distribution"] = distribution(run.reference.profile.column(name), window)
    return body


def write_report(run: DriftRun, html_path: Path, json_path: Path | None = None) -> Path:
    """Write the HTML report (and its JSON beside it, or at ``json_path``); return the HTML."""
    body = report_json(run)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    json_path = json_path or html_path.with_suffix(".json")
    json_path.write_bytes(orjson.dumps(body, option=orjson.OPT_INDENT_2))
    html_path.write_text(_page(body), encoding="utf-8")
    return html_path


def _figure(column: dict[str, Any]) -> dict[str, Any]:
    shares = column["distribution"]
    current = "#d9534f" if column["drifted"] else "#3c7dc4"
    bars = [
        {
            "type": "bar",
            "name": key,
            # Plotly reads tags (<a>, <b>, <br>) in labels: escaped, a value shows as sent.
            "x": [html.escape(str(label), quote=False) for label in shares["labels"]],
            "y": shares[key],
            "marker": {"color": colour},
        }
        for key, colour in (("reference", "#8c9eb5"), ("current", current))
    ]
    layout = {
        "barmode": "group",
        "height": 260,
        "margin": {"l": 50, "r": 10, "t": 10, "b": 80},
        "yaxis": {"title": "share", "tickformat": ".0%"},
        "legend": {"orientation": "h", "y": 1.15},
    }
    return {"data": bars, "layout": layout}


def _number(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.3g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"


# Charts are drawn by one fixed script from data in a JSON block (which no browser runs), so
# the page's policy can allow exactly two scripts, by hash: Plotly and this one.
_DRAW = (
    "for (const [id, f] of Object.entries(JSON.parse("
    "document.getElementById('figures').textContent))) "
    "Plotly.newPlot(id, f.data, f.layout, {displayModeBar: false, responsive: true});"
)
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


def _hash(script: str) -> str:
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    return f"'sha256-{digest}'"


def _policy(*scripts: str) -> str:
    return (
        f"default-src 'none'; script-src {' '.join(map(_hash, scripts))}; "
        "style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
    )


def _page(body: dict[str, Any]) -> str:
    def esc(value: Any) -> str:
        return html.escape(str(value))

    where = f"endpoint {body['endpoint']}" if body["endpoint"] else body["source"]
    span = f"{body['start']} to {body['end']}" if body["start"] else ""
    rows, charts, figures = [], [], {}
    for i, column in enumerate(body["columns"]):
        verdict = "drift" if column["drifted"] else "ok"
        cells = (
            column["column"],
            column["role"],
            column["kind"],
            column["method"],
            _number(column["statistic"]),
            _number(column["p_adjusted"]),
            _number(column["threshold"]),
            column["verdict"],
            _number(column["severity"]),
        )
        rows.append(f"<tr class='{verdict}'>{''.join(f'<td>{esc(c)}</td>' for c in cells)}</tr>")
        if "distribution" in column:
            charts.append(
                f"<section><h3 class='{verdict}'>{esc(column['column'])}: "
                f"{esc(column['verdict'])} ({esc(column['method'])} "
                f"{_number(column['statistic'])})</h3><div id='chart-{i}'></div></section>"
            )
            figures[f"chart-{i}"] = _figure(column)
    quality = body["quality"]
    problems = "".join(
        f"<tr><td>{esc(name)}</td>{''.join(f'<td>{esc(checks.get(k, 0))}</td>' for k in _CHECKS)}"
        "</tr>"
        for name, checks in quality["columns"].items()
    )
    share = body["share_drifted"]
    basis = {
        "live": "the version serving the endpoint now",
        "requested": "the version asked for",
    }.get(body.get("version_basis", ""), "")
    judged = f"Reference of version {body['version']}" + (f" ({basis})" if basis else "")
    unchecked = quality.get("unchecked_columns") or []
    absent = (
        f"<p>The data holds none of the model's outputs ({esc(', '.join(unchecked))}): only "
        "its inputs were compared.</p>"
        if unchecked
        else ""
    )
    plotly = plotly_js()
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_policy(plotly, _DRAW)}">
<meta name="referrer" content="no-referrer">
<title>Drift report: {esc(where)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
table {{ border-collapse: collapse; margin: 1rem 0; }}
td, th {{ border-bottom: 1px solid #ddd; padding: 0.3rem 0.7rem; text-align: left; }}
tr.drift td, h3.drift {{ color: #b52b27; }}
section {{ margin: 1.5rem 0; }}
</style>
<script>{plotly}</script></head>
<body>
<h1>Drift report: {esc(where)}, version {esc(body["version"])}</h1>
<p>{esc(judged)}.{esc(f" From {span}." if span else "")}
Current rows: {body["rows"]:,}; reference: {body["reference"]["rows"]:,} rows
({esc(body["reference"]["source"])}). <strong>{len(body["drifted_columns"])} of
{len(body["columns"])} columns drifted ({share:.0%})</strong>; p-values corrected by
{esc(body["correction"])}.</p>
<table><tr><th>column</th><th>role</th><th>kind</th><th>test</th><th>statistic</th>
<th>p (corrected)</th><th>threshold</th><th>verdict</th><th>severity</th></tr>
{"".join(rows)}</table>
<h2>Data quality</h2>
<p>{quality["bad_rows"]:,} of {quality["rows"]:,} rows ({quality["share_bad"]:.1%}) have at
least one problem.</p>{absent}
<table><tr><th>column</th>{"".join(f"<th>{k}</th>" for k in _CHECKS)}</tr>{problems}</table>
<h2>Distributions, most severe first</h2>
{"".join(charts)}
<script type="application/json" id="figures">{script_json(figures)}</script>
<script>{_DRAW}</script>
</body></html>
"""


_CHECKS = ("missing", "type", "range", "category")
