// The drift page (templates/drift.html); helpers from dashboard.js.
const NAME = document.body.dataset.name;
const BASE = `/v1/endpoints/${encodeURIComponent(NAME)}`;
const query = new URLSearchParams(window.location.search);
const windowSelect = document.getElementById("window");
const bucketSelect = document.getElementById("buckets");
const columnSelect = document.getElementById("column");
// A window or a count from the address (?window=10s&buckets=12) joins the choices.
for (const [select, key] of [[windowSelect, "window"], [bucketSelect, "buckets"]]) {
  const wanted = query.get(key);
  if (wanted && ![...select.options].some((o) => o.value === wanted)) select.add(new Option(wanted, wanted));
  if (wanted) select.value = wanted;
}
let timeline = null;
let selected = null;  // the window whose distribution is drawn; null: the newest with data
const SEVERITY_CAP = 3;

function binLabels(edges) {
  if (!edges.length) return ["all"];
  const n = (v) => champion.number(v, 2);
  return [`< ${n(edges[0])}`, ...edges.slice(1).map((e, i) => `${n(edges[i])} – ${n(e)}`), `≥ ${n(edges.at(-1))}`];
}

const shares = (counts) => {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => (total ? c / total : 0));
};

function newestWithData() {
  for (let i = timeline.buckets.length - 1; i >= 0; i--) if (timeline.buckets[i].rows) return i;
  return null;
}

function showDistribution() {
  const column = timeline.columns.find((c) => c.column === columnSelect.value);
  const index = selected ?? newestWithData();
  if (!column || index === null) { champion.plot("distribution", []); return; }
  const d = column.distribution;
  // Category values are what callers sent: shown as sent, never as Plotly's markup.
  const labels = column.kind === "numeric" ? binLabels(d.edges) : d.categories.map(champion.plotText);
  const current = d.current[index];
  const bucket = timeline.buckets[index];
  champion.plot("distribution", [
    { name: "reference", type: "bar", x: labels, y: shares(d.reference) },
    { name: `window from ${new Date(bucket.start).toLocaleTimeString()}`, type: "bar", x: labels, y: current ? shares(current) : [] },
  ], { barmode: "group", yaxis: { tickformat: ".0%", title: "share of rows" }, xaxis: { type: "category" } });
  champion.table("columns", [
    ["column", (c) => c.column], ["role", (c) => c.role],
    ["test", (c) => (c.cells[index] ? c.cells[index].method : null)],
    ["statistic", (c) => (c.cells[index] ? champion.number(c.cells[index].statistic, 4) : null)],
    ["p (corrected)", (c) => (c.cells[index] ? champion.number(c.cells[index].p_adjusted, 4) : null)],
    ["threshold", (c) => (c.cells[index] ? champion.number(c.cells[index].threshold, 4) : null)],
    ["verdict", (c) => (c.cells[index] ? champion.el("span", c.cells[index].drifted ? "drift" : "no drift", c.cells[index].drifted ? "bad" : "good") : "no data")],
  ], timeline.columns);
}

function showHeatmap() {
  const x = timeline.buckets.map((b) => new Date(b.start));
  const y = timeline.columns.map((c) => c.column);
  const z = timeline.columns.map((c) => c.cells.map((cell) => (cell ? Math.min(cell.severity, SEVERITY_CAP) : null)));
  const text = timeline.columns.map((c) => c.cells.map((cell) => (cell
    ? `${c.column}: ${cell.method} ${champion.number(cell.statistic, 4)}` +
      `${cell.p_adjusted !== null ? `, p ${champion.number(cell.p_adjusted, 4)}` : ""} (threshold ${champion.number(cell.threshold, 4)}): ` +
      `${cell.drifted ? "drift" : "no drift"}, ${cell.n} rows`
    : `${c.column}: no data`)));
  champion.plot("heatmap", [{
    type: "heatmap", x, y, z, text, hoverinfo: "text", zmin: 0, zmax: SEVERITY_CAP, xgap: 1, ygap: 1,
    colorscale: [[0, "#e8f5e9"], [0.33, "#fff59d"], [0.34, "#ffb74d"], [1, "#b71c1c"]],
    colorbar: { title: "severity", tickvals: [0, 1, 2, 3], ticktext: ["0", "1 (threshold)", "2", "≥ 3"] },
  }], { margin: { t: 10, r: 10, b: 40, l: 170 }, yaxis: { autorange: "reversed", automargin: true } });
}

async function showPerformance() {
  const body = await champion.api(`${BASE}/performance`, {
    start: timeline.start, end: timeline.end, bucket: windowSelect.value, version: timeline.version,
  });
  const keys = [...new Set(body.buckets.flatMap((b) => Object.keys(b)))]
    .filter((k) => !["start", "end", "n"].includes(k));
  const x = body.buckets.map((b) => new Date(b.start));
  const traces = keys.map((k) => ({ name: k, type: "scatter", mode: "lines+markers", x, y: body.buckets.map((b) => b[k]) }));
  traces.push({ name: "labelled", type: "bar", x, y: body.buckets.map((b) => b.n), yaxis: "y2", opacity: 0.3 });
  const shapes = body.detections.filter((d) => d.kind === "drift").map((d) => ({
    type: "line", x0: d.at, x1: d.at, yref: "paper", y0: 0, y1: 1, line: { color: "#c0392b", dash: "dot" },
  }));
  champion.plot("performance", traces, {
    shapes, yaxis2: { overlaying: "y", side: "right", title: "labelled", rangemode: "tozero", showgrid: false },
  });
  champion.table("detections", [
    ["when", (d) => champion.when(d.at)], ["detector", (d) => d.detector], ["kind", (d) => d.kind],
    ["index in the error stream", (d) => d.index],
  ], body.detections, `${body.labelled} labelled predictions; no change detected in their errors.`);
}

async function refresh() {
  timeline = await champion.api(`${BASE}/drift/timeline`, { window: windowSelect.value, buckets: bucketSelect.value });
  const summary = document.getElementById("summary");
  const rows = timeline.buckets.reduce((sum, b) => sum + b.rows, 0);
  summary.replaceChildren(
    champion.el("div", timeline.version
      ? `version ${timeline.version} against its reference (${timeline.reference.rows} rows, ${timeline.reference.source}) · ${rows} predictions from ${champion.when(timeline.start)} to ${champion.when(timeline.end)}`
      : timeline.message, timeline.version ? "" : "bad"),
  );
  const names = timeline.columns.map((c) => c.column);
  if ([...columnSelect.options].map((o) => o.value).join() !== names.join()) {
    const keep = columnSelect.value;
    columnSelect.replaceChildren(...names.map((n) => new Option(n, n)));
    if (names.includes(keep)) columnSelect.value = keep;
  }
  showHeatmap();
  showDistribution();
  if (timeline.version) await showPerformance();
  else champion.plot("performance", []);
}

let clicks = false;
const now = champion.every(10, async () => {
  await refresh();
  if (clicks) return;
  clicks = true;  // Plotly.react keeps the element: one handler serves every refresh
  document.getElementById("heatmap").on("plotly_click", (event) => {
    const point = event.points[0];
    selected = point.pointIndex[1];
    columnSelect.value = point.y;
    showDistribution();
  });
});
windowSelect.addEventListener("change", () => { selected = null; now(); });
bucketSelect.addEventListener("change", () => { selected = null; now(); });
columnSelect.addEventListener("change", showDistribution);
