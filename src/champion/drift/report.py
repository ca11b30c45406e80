"""The drift report: one self-contained HTML page (Plotly inlined, no CDN) and its JSON.

The page is ``templates/drift_report.html`` (see :mod:`champion.drift.pages`).

For every column, most severe first: the reference's and the current window's shares on
the reference's histogram bins (numbers) or per category (the 20 most common reference
categories, the rest grouped), the test, its statistic, p-value, threshold and verdict;
then the data-quality counts of the same window.
"""

from __future__ import annotations

import html
import itertools
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from champion.drift.monitor import DriftRun
from champion.drift.pages import render_page
from champion.drift.profile import ColumnProfile
from champion.drift.quality import CHECKS
from champion.drift.window import ColumnWindow

__all__ = ["distribution", "report_json", "write_report"]

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


def _page(body: dict[str, Any]) -> str:
    where = f"endpoint {body['endpoint']}" if body["endpoint"] else body["source"]
    basis = {
        "live": "the version serving the endpoint now",
        "requested": "the version asked for",
    }.get(body.get("version_basis", ""), "")
    charts = [(f"chart-{i}", c) for i, c in enumerate(body["columns"]) if "distribution" in c]
    return render_page(
        "drift_report.html",
        title=f"Drift report: {where}, version {body['version']}",
        figures={chart: _figure(column) for chart, column in charts},
        body=body,
        judged=f"Reference of version {body['version']}" + (f" ({basis})" if basis else ""),
        quality=body["quality"],
        checks=CHECKS,
        charts=charts,
    )
