// The drift page (templates/drift.html); helpers from dashboard.js.
const NAME = document.body.dataset.name;
const BASE = `/v1/endpoints/${encodeURIComponent(NAME)}`;
const query = new URLSearchParams(window.location.search);
const windowSelect = document.getElementById("window");
const bucketSelect = document.getElementById("buckets");
const columnSelect = document.getElementById("column");
const versionSelect = document.getElementById("version");
// ?version=attrition/1 judges that version's reference; without it, the version serving now.
if (query.get("version")) {
  versionSelect.add(new Option(query.get("version"), query.get("version")));
  versionSelect.value = query.get("version");
}
// A window or a count from the address (?window=10s&buckets=12) joins the choices.
for (const [select, key] of [[windowSelect, "window"], [bucketSelect, "buckets"]]) {
  const wanted = query.get(key);
  if (wanted && ![...select.options].some((o) => o.value === wanted)) select.add(new Option(wanted, wanted));
  if (wanted) select.value = wanted;
}
const rankingSelect = document.getElementById("ranking-version");
let timeline = null;
let kind = null;  // the kind of model the endpoint serves: a ranker gets its own panels
let ranking = null;
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
  if (!column || index === null) {
    champion.plotOr("distribution", [], {}, "No window of this span holds a prediction of this version.");
    champion.table("columns", [["column", (c) => c.column]], [], "No window holds a prediction.");
    return;
  }
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
    ["column", (c) => champion.el("span", c.column, "mono")], ["role", (c) => c.role],
    ["test", (c) => (c.cells[index] ? c.cells[index].method : null)],
    ["statistic", (c) => (c.cells[index] ? champion.number(c.cells[index].statistic, 4) : null)],
    ["p (corrected)", (c) => (c.cells[index] ? champion.pvalue(c.cells[index].p_adjusted) : null)],
    ["threshold", (c) => (c.cells[index] ? champion.number(c.cells[index].threshold, 4) : null)],
    ["verdict", (c) => (c.cells[index] ? champion.el("span", c.cells[index].drifted ? "drift" : "no drift", c.cells[index].drifted ? "bad" : "good") : "no data")],
    ["change per day (Theil-Sen, 95 %)", (c) => (c.trend
      ? champion.el("span", `${champion.number(c.trend.slope_per_day, 4)} [${champion.number(c.trend.low, 4)}, ${champion.number(c.trend.high, 4)}]`, c.trend.rising ? "bad" : null)
      : null)],
  ], timeline.columns);
}

function showHeatmap() {
  const x = timeline.buckets.map((b) => new Date(b.start));
  const y = timeline.columns.map((c) => c.column);
  const z = timeline.columns.map((c) => c.cells.map((cell) => (cell ? Math.min(cell.severity, SEVERITY_CAP) : null)));
  const text = timeline.columns.map((c) => c.cells.map((cell) => (cell
    ? `${c.column}: ${cell.method} ${champion.number(cell.statistic, 4)}` +
      `${cell.p_adjusted !== null ? `, p ${champion.pvalue(cell.p_adjusted)}` : ""} (threshold ${champion.number(cell.threshold, 4)}): ` +
      `${cell.drifted ? "drift" : "no drift"}, ${cell.n} rows`
    : `${c.column}: no data`)));
  const drawn = champion.plotOr("heatmap", [{
    type: "heatmap", x, y, z, text, hoverinfo: "text", zmin: 0, zmax: SEVERITY_CAP, xgap: 1, ygap: 1,
    colorscale: [[0, "#e8f5e9"], [0.33, "#fff59d"], [0.34, "#ffb74d"], [1, "#b71c1c"]],
    colorbar: { title: "severity", tickvals: [0, 1, 2, 3], ticktext: ["0", "1 (threshold)", "2", "≥ 3"] },
  }], { margin: { t: 10, r: 10, b: 40, l: 170 }, yaxis: { autorange: "reversed", automargin: true } },
  "No window of this span holds a prediction of this version.");
  const heatmap = document.getElementById("heatmap");
  return Promise.resolve(drawn).then(() => {
    if (!heatmap.on) return;  // nothing drawn: no heatmap to click
    heatmap.removeAllListeners("plotly_click");  // Plotly.react keeps the element: one handler
    heatmap.on("plotly_click", (event) => {
      const point = event.points[0];
      selected = point.pointIndex[1];
      columnSelect.value = point.y;
      showDistribution();
    });
  });
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
  champion.plotOr("performance", traces, {
    shapes, margin: { t: 30, r: 60, b: 40, l: 50 }, yaxis2: { overlaying: "y", side: "right", title: "labelled", rangemode: "tozero", showgrid: false },
  }, `No label has arrived for the predictions of ${timeline.version} in this span.`, body.labelled > 0);
  champion.table("detections", [
    ["when", (d) => champion.when(d.at)], ["detector", (d) => d.detector], ["kind", (d) => d.kind],
    ["index in the error stream", (d) => d.index],
  ], body.detections, `${body.labelled} labelled predictions; no change detected in their errors.`);
}

// CBPE: expected accuracy and AUC from the calibrated scores in every bucket (a band: where
// the realised value should fall), the realised values as points, flagged buckets in red.
async function showEstimated() {
  const note = document.getElementById("estimated-note");
  if (!timeline.reference.labelled) {
    // Asking would only be refused: say how to give the version a labelled reference.
    champion.plotOr("estimated", [], {}, `${timeline.version} has no labelled reference, so its ` +
      `performance cannot be estimated before labels. Name the label column with 'target' in ` +
      `champion.yaml, or run: champion drift reference ${timeline.version} DATA --label COLUMN --replace`);
    note.replaceChildren();
    return;
  }
  let body;
  try {
    body = await champion.api(`${BASE}/performance/estimated`, {
      start: timeline.start, end: timeline.end, bucket: windowSelect.value, version: timeline.version,
    });
  } catch (error) {
    if (error.status !== 404 && error.status !== 422) throw error;
    champion.plotOr("estimated", [], {}, error.message);
    note.replaceChildren();
    return;
  }
  const served = body.buckets.filter((b) => b.predictions);
  const x = served.map((b) => new Date(b.start));
  const traces = [];
  ["accuracy", "auc"].forEach((name, i) => {
    const color = i ? "rgb(230, 126, 34)" : "rgb(46, 111, 219)";
    const estimated = served.map((b) => b.estimated[name]);
    traces.push(...champion.band(`estimated ${name}`, x, estimated.map((e) => e.value),
      estimated.map((e) => (e.low === null ? null : [e.low, e.high])), color));
    traces.push({
      name: `realised ${name}`, type: "scatter", mode: "markers", x, y: served.map((b) => b.realised[name]),
      marker: { color: served.map((b) => (b.flagged.includes(name) ? "rgb(192, 57, 43)" : color)), symbol: "diamond", size: 9 },
    });
  });
  champion.plotOr("estimated", traces, { margin: { t: 30, r: 20, b: 40, l: 50 }, yaxis: { title: "metric" } },
    `${timeline.version} served no prediction in this span.`);
  const flagged = served.filter((b) => b.flagged.length).length;
  const reference = body.reference;
  note.replaceChildren(champion.el("p",
    `Calibrated on ${reference.rows} labelled reference rows (label ${reference.label}, where accuracy was ` +
    `${champion.number(reference.metrics.accuracy)} and AUC ${champion.number(reference.metrics.auc)}). ` +
    `The estimate assumes no concept drift: ${flagged} of ${served.length} buckets have a realised metric ` +
    "outside the interval expected for their labels (red).", flagged ? "bad" : "muted"));
}

// Each version one may judge the endpoint by: the one serving now first.
function showVersions() {
  const wanted = versionSelect.value;
  const options = [new Option(`the version serving now${timeline.version_basis === "live" ? ` (${timeline.version})` : ""}`, "")];
  for (const v of timeline.versions) {
    const notes = [
      v.live ? "serving now" : v.configured ? "configured" : "served earlier",
      `${champion.number(v.predictions, 0)} requests in this span`,
      ...(v.has_reference ? [] : ["no reference"]),
    ];
    options.push(new Option(`${v.version} (${notes.join(", ")})`, v.version));
  }
  if (wanted && !timeline.versions.some((v) => v.version === wanted)) options.push(new Option(wanted, wanted));
  versionSelect.replaceChildren(...options);
  versionSelect.value = wanted;
}

const UNITS = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
const seconds = (text) => {
  const found = /^\s*([0-9.]+)\s*([smhdw])\s*$/.exec(text);
  return found ? Number(found[1]) * UNITS[found[2]] : 3600;
};
const RANKING_SECTIONS = ["ranking-section", "ranking-grid", "ranking-positions-section", "ranking-context-section"];

function showRankingItems() {
  const version = ranking.versions.find((v) => v.version === rankingSelect.value);
  if (!version) {
    champion.plotOr("ranking-items", [], {}, "No version showed an item in this span.");
    return;
  }
  // Item ids are what the ranker returned: shown as sent, never as Plotly's markup.
  const labels = version.item_drift.buckets.map((b) => champion.plotText(b.item));
  champion.plotOr("ranking-items", [
    { name: "window before", type: "bar", x: labels, y: version.item_drift.buckets.map((b) => b.reference) },
    { name: version.version, type: "bar", x: labels, y: version.item_drift.buckets.map((b) => b.current) },
  ], { barmode: "group", yaxis: { tickformat: ".0%", title: "share of impressions" }, xaxis: { type: "category" } },
  "No item was shown often enough in both windows to compare.");
}

async function showRanking() {
  const count = Number(bucketSelect.value);
  const end = new Date();
  const start = new Date(end.getTime() - seconds(windowSelect.value) * 1000 * count);
  ranking = await champion.api(`${BASE}/ranking-monitor`, {
    start: start.toISOString(), end: end.toISOString(), buckets: Math.min(count, 48),
  });
  const before = ranking.reference;
  document.getElementById("summary").replaceChildren(
    champion.el("div", `${champion.when(ranking.start)} to ${champion.when(ranking.end)} against the window before ` +
      `(${champion.when(ranking.reference_start)} to ${champion.when(ranking.reference_end)}): ` +
      `a catalogue of ${ranking.catalogue.size} items (${ranking.catalogue.source}); popularity from that window's ${ranking.popularity_basis}.`),
    ...(ranking.message ? [champion.el("div", ranking.message, "bad")] : []),
  );
  const rows = [{ version: "window before", ...before, reference: true }, ...ranking.versions];
  champion.table("ranking-versions", [
    ["version", (v) => champion.el("span", v.version, "mono")],
    ["impressions", (v) => champion.number(v.impressions, 0)],
    ["users", (v) => champion.number(v.units, 0)],
    ["distinct items", (v) => champion.number(v.distinct_items, 0)],
    ["coverage", (v) => champion.percent(v.coverage)],
    ["coverage before, same impressions", (v) => (v.reference ? null : champion.percent(v.reference_coverage_at_same_impressions))],
    ["exposure Gini", (v) => champion.number(v.gini, 3)],
    ["mean popularity rank", (v) => champion.number(v.mean_popularity_rank, 1)],
    ["new items", (v) => (v.reference ? null : champion.number(v.new_items, 0))],
    ["item drift", (v) => (v.reference ? null : `${v.item_drift.method}, p ${champion.pvalue(v.item_drift.p_value)}, JS ${champion.number(v.item_drift.js_distance, 3)}`)],
    // No p-value: nothing to compare with (an empty window before), so no verdict either.
    ["verdict", (v) => (v.reference ? null : v.item_drift.p_value === null ? champion.el("span", "not tested", "muted")
      : champion.el("span", v.item_drift.drifted ? "drift" : "no drift", v.item_drift.drifted ? "bad" : "good"))],
  ], rows);
  const wanted = rankingSelect.value;
  const names = ranking.versions.map((v) => v.version);
  rankingSelect.replaceChildren(...names.map((n) => new Option(n, n)));
  if (names.includes(wanted)) rankingSelect.value = wanted;
  showRankingItems();
  const traces = ranking.versions.flatMap((v, i) => champion.band(
    v.version, v.buckets.map((b) => new Date(b.start)), v.buckets.map((b) => b.ctr), v.buckets.map((b) => b.ci),
    champion.COLORS[i % champion.COLORS.length]));
  champion.plotOr("ranking-ctr", traces, { yaxis: { tickformat: ".1%", title: "clicked impressions", rangemode: "tozero" } },
    "No ranking was shown in this span, so there is no click-through to draw.");
  champion.table("ranking-positions", [
    ["version", (p) => champion.el("span", p.version, "mono")], ["positions", (p) => p.positions],
    ["impressions", (p) => champion.number(p.impressions, 0)], ["clicked", (p) => champion.number(p.clicked, 0)],
    ["click-through", (p) => champion.percent(p.ctr)], ["95 % interval", (p) => champion.interval(p.ci, 4)],
  ], ranking.versions.flatMap((v) => [{ version: v.version, positions: "all", ...v.click_through },
    ...v.click_through.by_position.map((p) => ({ version: v.version, ...p }))]), "No ranking was shown in this span.");
  const context = document.getElementById("ranking-context");
  context.replaceChildren(...ranking.versions.map((v) => {
    const holder = champion.el("div");
    holder.appendChild(champion.el("h3", v.version, "mono"));
    if (!v.context.available) {
      holder.appendChild(champion.el("p", v.context.message, "muted"));
      return holder;
    }
    const table = champion.el("div");
    champion.table(table, [
      ["column", (c) => champion.el("span", c.column, "mono")], ["test", (c) => c.method],
      ["statistic", (c) => champion.number(c.statistic, 4)], ["p (corrected)", (c) => champion.pvalue(c.p_adjusted)],
      ["verdict", (c) => champion.el("span", c.verdict, c.drifted ? "bad" : "good")],
    ], v.context.drift.columns);
    holder.appendChild(table);
    return holder;
  }));
}

async function refresh() {
  if (kind === null) {
    try {
      kind = (await champion.api(BASE)).kind || "";
    } catch (error) {
      if (error.status === 404) champion.missing(error.message);
      throw error;
    }
  }
  const ranker = kind === "ranker";
  for (const id of RANKING_SECTIONS) document.getElementById(id).hidden = !ranker;
  document.getElementById("version").closest("label").hidden = ranker;
  if (ranker) {
    for (const id of ["heatmap-section", "columns-grid", "estimated-section", "performance-section"]) {
      document.getElementById(id).hidden = true;
    }
    await showRanking();
    return;
  }
  try {
    timeline = await champion.api(`${BASE}/drift/timeline`, {
      window: windowSelect.value, buckets: bucketSelect.value, version: versionSelect.value,
    });
  } catch (error) {
    if (error.status === 404 && error.message.startsWith("Unknown endpoint")) champion.missing(error.message);
    throw error;
  }
  showVersions();
  const judged = timeline.version_basis === "live"
    ? `${timeline.version}, the version serving now`
    : `${timeline.version}, as chosen`;
  const summary = document.getElementById("summary");
  const rows = timeline.buckets.reduce((sum, b) => sum + b.rows, 0);
  const lines = [champion.el("div", `Reference: ${judged}.`, "reference")];
  if (timeline.reference) {
    lines.push(champion.el("div",
      `${timeline.reference.rows} reference rows (${timeline.reference.source}) against ${rows} predictions of ` +
      `${timeline.version} from ${champion.when(timeline.start)} to ${champion.when(timeline.end)}.`));
  } else {
    lines.push(champion.el("div", timeline.message, "bad"));
  }
  summary.replaceChildren(...lines);
  // Without a reference (a ranker, or none stored) there is nothing to draw: the message says
  // why, and the panels that would be blank are not shown.
  const comparable = Boolean(timeline.reference);
  for (const id of ["heatmap-section", "columns-grid", "estimated-section", "performance-section"]) {
    document.getElementById(id).hidden = !comparable;
  }
  if (!comparable) return;
  const names = timeline.columns.map((c) => c.column);
  if ([...columnSelect.options].map((o) => o.value).join() !== names.join()) {
    const keep = columnSelect.value;
    columnSelect.replaceChildren(...names.map((n) => new Option(n, n)));
    if (names.includes(keep)) columnSelect.value = keep;
  }
  showHeatmap();
  showDistribution();
  await showEstimated();
  await showPerformance();
}

const now = champion.every(10, refresh);
windowSelect.addEventListener("change", () => { selected = null; now(); });
bucketSelect.addEventListener("change", () => { selected = null; now(); });
versionSelect.addEventListener("change", () => {
  selected = null;
  const address = new URL(window.location.href);
  if (versionSelect.value) address.searchParams.set("version", versionSelect.value);
  else address.searchParams.delete("version");
  window.history.replaceState(null, "", address);
  now();
});
columnSelect.addEventListener("change", showDistribution);
rankingSelect.addEventListener("change", showRankingItems);
