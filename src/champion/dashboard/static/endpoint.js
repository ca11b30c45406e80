// The endpoint page (templates/endpoint.html); helpers from dashboard.js.
const NAME = document.body.dataset.name;
const BASE = `/v1/endpoints/${encodeURIComponent(NAME)}`;
let experiment = null;  // the latest report, for the buttons
let timelineAge = Infinity;
let refreshNow = () => {};
const WINDOWS = 20;
let windows = new Map();  // window start (ms) -> stats rows

function windowSeconds() { return Number(document.getElementById("window").value); }

// The chart's windows in one request (?buckets=): all of them on the first refresh, then
// the newest two (the one that just closed and the one filling).
async function loadWindows(all) {
  const size = windowSeconds() * 1000;
  const newest = Math.floor(Date.now() / size) * size;
  const count = all ? WINDOWS : 2;
  const first = newest - (count - 1) * size;
  const body = await champion.api(`${BASE}/stats`, {
    start: new Date(first).toISOString(), end: new Date(newest + size).toISOString(), buckets: count,
  });
  body.buckets.forEach((b) => windows.set(Date.parse(b.start), b.versions));
  for (const key of [...windows.keys()].sort((a, b) => a - b).slice(0, -WINDOWS)) windows.delete(key);
}

function series(field) {
  const keys = [...windows.keys()].sort((a, b) => a - b);
  const arms = [...new Set(keys.flatMap((k) => windows.get(k).map(champion.arm)))];
  return arms.map((name) => ({
    name, type: "scatter", mode: "lines+markers", connectgaps: false,
    x: keys.map((k) => new Date(k)),
    // No row in a window: no request (0), and no rate or latency to show (a gap).
    y: keys.map((k) => { const row = windows.get(k).find((r) => champion.arm(r) === name); return row ? row[field] : field === "requests" ? 0 : null; }),
  }));
}

// The challenger's share of units under each configuration, oldest first. A promotion
// ends in blue_green with the winner live on green (or in single on the challenger): the
// challenger then has every unit, 100 %, until a rollback switches back.
function challengerShares(history) {
  let challenger = null;  // the reference of the newest challenger configured
  return history.map((config) => {
    const p = config.params;
    if (p.challenger) challenger = p.challenger;
    switch (config.policy) {
      case "canary": return p.share;
      case "interleave": return 0.5;
      case "shadow": return 0;
      case "blue_green": return (p.live || "blue") === "green" ? 1 : 0;
      case "single": return challenger !== null && p.version === challenger ? 1 : 0;
      case "ab": {
        const names = Object.keys(p.arms);
        const weights = p.weights || Object.fromEntries(names.map((n) => [n, 1]));
        const control = p.control || (names.includes("control") ? "control" : names.includes("champion") ? "champion" : [...names].sort()[0]);
        const total = names.reduce((sum, n) => sum + weights[n], 0);
        return 1 - weights[control] / total;
      }
      default: return 0;
    }
  });
}

// "none", or the total and each error code's count.
function failures(errors) {
  const entries = Object.entries(errors);
  const total = entries.reduce((sum, [, n]) => sum + n, 0);
  if (!total) return "none";
  return `${total} (${entries.map(([code, n]) => `${code} ${n}`).join(", ")})`;
}

const METRIC_NAMES = ["auc", "accuracy", "f1", "log_loss", "rmse"];

function showShadows(endpoint, shadows) {
  const section = document.getElementById("shadow-section");
  section.hidden = !(endpoint.policy === "shadow" || shadows.length);
  if (section.hidden) return;
  const holder = document.getElementById("shadow");
  if (!shadows.length) {
    holder.replaceChildren(champion.el("p", "The shadow has scored no request yet.", "muted"));
    return;
  }
  holder.replaceChildren(...shadows.map((s) => {
    const block = champion.el("div", null, "shadow-pair");
    const served = `${s.served_model}/${s.served_version}`;
    const shadow = `${s.model}/${s.version}`;
    block.appendChild(champion.el("h3", `${shadow} in the shadow of ${served}`));
    const numbers = champion.el("div", null, "shadow-numbers");
    for (const [label, value, name] of [
      ["requests scored", champion.number(s.requests, 0), "requests"],
      ["failed in the shadow", champion.number(s.errors, 0), "errors"],
      ["agreement with the champion", champion.percent(s.agreement), "agreement"],
      ["mean |score difference|", champion.number(s.mean_abs_difference, 4), "difference"],
      ["labelled requests", champion.number(s.labels, 0), "labels"],
    ]) {
      const card = champion.el("div", null, "card");
      card.dataset.number = name;
      card.append(champion.el("div", value, "value"), champion.el("div", label, "muted"));
      numbers.appendChild(card);
    }
    block.appendChild(numbers);
    const table = champion.el("div");
    block.appendChild(table);
    const metrics = METRIC_NAMES.filter((m) => s.labels && (s.metrics[m] ?? s.served_metrics[m]) !== null && (s.metrics[m] ?? s.served_metrics[m]) !== undefined);
    champion.table(table, [
      ["version", (r) => r.version], ["role", (r) => r.role],
      ["p50 ms", (r) => champion.number(r.p50, 2)], ["p99 ms", (r) => champion.number(r.p99, 2)],
      ...metrics.map((m) => [`${m.replace("_", " ")} on labels`, (r) => champion.number(r.metrics[m], 4)]),
    ], [
      { version: served, role: "champion (answers)", p50: s.served_latency_p50_ms, p99: s.served_latency_p99_ms, metrics: s.served_metrics },
      { version: shadow, role: "shadow (logged only)", p50: s.latency_p50_ms, p99: s.latency_p99_ms, metrics: s.metrics },
    ]);
    if (!s.labels) block.appendChild(champion.el("p", "No label has arrived for these requests yet: metrics on labels appear once labels are sent as feedback.", "muted"));
    return block;
  }));
}

// A pipeline endpoint's stages: what each serves, each answering version's latency and
// fallbacks, the stage's failed calls and requests (GET .../stages), and whether it moved over
// the charts' windows (GET .../drift/stages: each stage's drift against its reference, and a
// version beginning to answer for it). Drift is asked every DRIFT_EVERY refreshes: it runs the
// drift tests of every stage over every window.
const DRIFT_EVERY = 6;
let stageMoves = null;
let stageMovesAge = Infinity;

function stageDrift(move) {
  if (!move) return "–";
  if (move.first_alarm) {
    return champion.el("span", `drifted from ${champion.when(move.first_alarm)} (${move.drifted.join(", ")})`, "bad");
  }
  if (move.began.length) {
    const began = move.began[0];
    return champion.el("span", `${began.version} began to answer ${champion.when(began.at)}`, "good");
  }
  const steady = champion.el("span", move.message ? "no new version; not drift-tested" : "no drift, no new version", "muted");
  if (move.message) steady.title = move.message;
  return steady;
}

async function showStages(endpoint) {
  const section = document.getElementById("stages-section");
  section.hidden = !endpoint.stages;
  if (!endpoint.stages) return;
  if (stageMovesAge >= DRIFT_EVERY) {
    stageMoves = await champion.api(`${BASE}/drift/stages`, { window: `${windowSeconds()}s`, buckets: WINDOWS });
    stageMovesAge = 0;
  }
  stageMovesAge += 1;
  const { stages } = await champion.api(`${BASE}/stages`);
  const statsOf = new Map(stages.map((s) => [s.stage, s]));
  const movesOf = new Map(stageMoves.stages.map((s) => [s.stage, s]));
  // One row per version that answered for the stage (one row if none did); the stage's own
  // cells on its first row.
  const rows = endpoint.stages.flatMap((stage) => {
    const stats = statsOf.get(stage.stage) || { versions: [], errors: {}, failures: [] };
    const answered = stats.versions.filter((v) => v.requests > 0);
    const base = { stage, stats, move: movesOf.get(stage.stage) };
    return answered.length ? answered.map((version, i) => ({ ...base, version, first: i === 0 })) : [{ ...base, version: null, first: true }];
  });
  const own = (cell) => (r) => (r.first ? cell(r) : "");
  champion.table("stages", [
    ["stage", own((r) => r.stage.stage)],
    ["policy", own((r) => r.stage.policy)],
    ["versions", own((r) => r.stage.serving.map((v) => (v === r.stage.live ? `${v} (live)` : v)).join(", ") || "–")],
    ["version · arm", (r) => (r.version ? champion.arm(r.version) : "–")],
    ["requests", (r) => (r.version ? r.version.requests : 0)],
    ["p50 ms", (r) => champion.number(r.version && r.version.latency_p50_ms, 2)],
    ["p99 ms", (r) => champion.number(r.version && r.version.latency_p99_ms, 2)],
    ["fallbacks", (r) => (r.version ? r.version.fallbacks : 0)],
    ["failed calls", own((r) => r.stats.failures.map((f) => `${f.version} ${f.reason} ${f.count}`).join(", ") || "none")],
    ["failed requests", own((r) => failures(r.stats.errors))],
    ["drift", own((r) => stageDrift(r.move))],
  ], rows);
  const span = `the last ${WINDOWS} windows of ${windowSeconds()} s`;
  document.getElementById("stages-moved").textContent = stageMoves.moved_first
    ? `Moved first over ${span}: ${stageMoves.moved_first}.`
    : `No stage moved over ${span}.`;
}

const ACTIONS = {
  approve: ["Approve the proposed action", (x) => `Carry out what the controller proposed for ${NAME}: ${x.pending ? `${x.pending.action}${x.pending.share ? ` to ${champion.percent(x.pending.share)}` : ""} (${x.pending.reason})` : "nothing"}.`],
  promote: ["Promote the challenger", (x) => `Make ${Object.values(x.versions || {}).slice(1).join(", ") || "the challenger"} the champion of ${NAME} now; the previous champion stays loaded for an instant rollback.`],
  rollback: ["Roll back", (x) => (x.status === "promoted" ? `Undo the promotion on ${NAME}: switch back to the previous champion.` : `Send every unit of ${NAME} back to the champion and end the experiment.`)],
};

for (const [action, [title, describe]] of Object.entries(ACTIONS)) {
  document.getElementById(action).addEventListener("click", async () => {
    const done = await champion.confirmAction(title, describe(experiment), (reason) =>
      champion.post(`${BASE}/experiment/${action}`, { reason }));
    if (done) { showExperiment(done); timelineAge = Infinity; refreshNow(); }
  });
}

function showExperiment(x) {
  experiment = x;
  document.getElementById("experiment-section").hidden = false;
  document.getElementById("experiment-status").textContent = x.status.replace("_", " ");
  const d = x.design;
  document.getElementById("experiment-design").textContent =
    `goal ${d.goal} · ${d.method} test at α ${d.alpha} · automation ${d.automation} · ` +
    `policy ${x.policy || "–"}${x.share !== null ? ` at ${champion.percent(x.share)}` : ""} · ` +
    `${Object.entries(x.versions || {}).map(([a, v]) => `${a} ${v}`).join(", ")} · since ${champion.when(x.started_at)} by ${x.created_by}`;
  const decision = document.getElementById("decision");
  decision.textContent = `${x.decision.decision} (${x.decision.action})`;
  decision.className = x.decision.decision === "rollback" ? "bad" : x.decision.decision === "promote" ? "good" : "";
  document.getElementById("decision-reason").textContent = x.decision.reason;
  const pending = document.getElementById("pending");
  pending.hidden = !x.pending;
  if (x.pending) pending.textContent = `Waiting for approval since ${champion.when(x.pending.proposed_at)}: ${x.pending.action}${x.pending.share ? ` to ${champion.percent(x.pending.share)}` : ""}. ${x.pending.reason}`;
  const running = x.status === "running";
  document.getElementById("approve").disabled = !(running && x.pending);
  document.getElementById("promote").disabled = !running;
  document.getElementById("rollback").disabled = !(running || x.status === "promoted");

  champion.table("experiment-arms", [
    ["arm", (a) => a.arm], ["version", (a) => a.version], ["units", (a) => a.units], ["requests", (a) => a.requests],
    [d.goal, (a) => champion.number(a.metrics[d.goal], 4)], ["failures", (a) => a.failures],
    ["p50 ms", (a) => champion.number(a.latency_ms.p50, 2)],
  ], x.arms);
  champion.table("experiment-results", [
    ["metric", (r) => `${r.metric} (${r.role})`], ["arm", (r) => r.arm],
    ["champion", (r) => champion.number(r.control, 4)], ["challenger", (r) => champion.number(r.challenger, 4)],
    ["effect", (r) => champion.number(r.effect, 4) + (r.relative ? " (relative)" : "")],
    [`${Math.round(100 * (1 - d.alpha))}% interval`, (r) => champion.interval(r.ci, 4)],
    ["p", (r) => champion.pvalue(r.p_value)], ["method", (r) => r.method],
    ["verdict", (r) => champion.el("span", r.verdict, r.verdict === "better" ? "good" : ["worse", "regressed"].includes(r.verdict) ? "bad" : "")],
  ], x.results, "No test yet.");
  champion.table("experiment-health", [
    ["check", (h) => h.name], ["status", (h) => champion.el("span", h.status, h.status === "alert" ? "bad" : "")], ["detail", (h) => h.detail],
  ], x.health || []);
}

function showTimeline(t) {
  const x = t.points.map((p) => new Date(p.end));
  const interleaved = t.goal === "interleaving";
  document.getElementById("goal-arms-title").textContent = interleaved
    ? "Units preferring each ranker, over time"
    : "Goal per arm over time, with intervals";
  if (interleaved) {
    const count = (key) => t.points.map((p) => (p.interleaving ? p.interleaving[key] : 0));
    champion.plot("goal-arms", [
      { name: "prefer the challenger", type: "scatter", mode: "lines+markers", x, y: count("units_preferring_challenger") },
      { name: "prefer the champion", type: "scatter", mode: "lines+markers", x, y: count("units_preferring_champion") },
      { name: "tied", type: "scatter", mode: "lines+markers", x, y: count("units_tied") },
    ], { yaxis: { title: "units (cumulative)", rangemode: "tozero" } });
  } else {
    const arms = [...new Set(t.points.flatMap((p) => p.arms.map((a) => a.arm)))];
    const of = (p, arm) => p.arms.find((a) => a.arm === arm) || {};
    champion.plot("goal-arms", arms.flatMap((arm, i) => champion.band(
      arm, x, t.points.map((p) => of(p, arm).value ?? null), t.points.map((p) => of(p, arm).ci),
      champion.COLORS[i % 5])), { yaxis: { title: t.goal } });
  }
  const challengers = [...new Set(t.points.flatMap((p) => p.goal.map((g) => g.arm)))];
  const effects = challengers.flatMap((arm, i) => {
    const goal = (p) => p.goal.find((g) => g.arm === arm) || {};
    return champion.band(`${arm} effect`, x, t.points.map((p) => goal(p).effect ?? null),
      t.points.map((p) => goal(p).ci), champion.COLORS[(i + 1) % 5]);
  });
  const zero = { type: "line", xref: "paper", x0: 0, x1: 1, y0: 0, y1: 0, line: { dash: "dot", color: "#667085" } };
  champion.plot("goal-effect", effects, {
    shapes: [zero], yaxis: { title: interleaved ? "mean unit preference" : "challenger − champion" },
  });
}

// The shell says when the endpoint has an experiment (to whoever may read its data): its
// report is then asked for with the page's first calls, not after the list of experiments.
// An endpoint that had one always has a latest one.
let hasExperiment = document.body.dataset.experiment === "yes";

async function refreshExperiment() {
  if (!hasExperiment) {
    const { experiments } = await champion.api("/v1/experiments");
    hasExperiment = experiments.some((x) => x.endpoint === NAME);
    if (!hasExperiment) return;
  }
  const [report, timeline] = await Promise.all([
    champion.api(`${BASE}/experiment`),
    timelineAge >= 3 ? champion.api(`${BASE}/experiment/timeline`, { points: 12 }) : null,
  ]);
  showExperiment(report);
  if (timeline !== null) {
    showTimeline(timeline);
    timelineAge = 0;
  }
  timelineAge += 1;
}

let fresh = true;
document.getElementById("window").addEventListener("change", () => { windows = new Map(); fresh = true; stageMovesAge = Infinity; });

refreshNow = champion.every(5, async () => {
  // Every call at once: the page waits for the slowest, not for their sum.
  const [endpoint, { history }, { comparisons }, total] = await Promise.all([
    champion.api(BASE), champion.api(`${BASE}/history`), champion.api(`${BASE}/interleaving`), champion.api(`${BASE}/stats`),
    refreshExperiment(), loadWindows(fresh),
  ]).catch((error) => {
    if (error.status === 404) champion.missing(error.message);
    throw error;
  });
  fresh = false;
  const ranker = endpoint.kind === "ranker";

  const summary = document.getElementById("summary");
  summary.replaceChildren(
    champion.el("div", `${endpoint.kind || "model"} endpoint · policy ${endpoint.policy} · configuration ${endpoint.config_version} · ` +
      `serving ${endpoint.serving.join(", ") || "nothing"}${endpoint.live ? ` · champion ${endpoint.live}` : ""}`),
    champion.pairs(endpoint.params),
    champion.el("div", endpoint.error ? `cannot serve: ${endpoint.error}` : "serving", endpoint.error ? "bad" : "good"),
    champion.el("div", `failed requests since the server started: ${failures(total.errors)}`, "muted"),
    champion.link(`/endpoints/${encodeURIComponent(NAME)}/drift`, ranker ? "drift (rankers have no reference profile) →" : "drift and performance →"),
  );
  await showStages(endpoint);

  const span = `the last ${WINDOWS} windows`;
  const requests = series("requests");
  champion.plotOr("requests", requests, { yaxis: { rangemode: "tozero" } },
    `No request in ${span}.`, requests.some((t) => t.y.some((v) => v > 0)));
  champion.plotOr("latency", [
    ...series("latency_p50_ms").map((t) => ({ ...t, name: `${t.name} p50` })),
    ...series("latency_p99_ms").map((t) => ({ ...t, name: `${t.name} p99`, line: { dash: "dot" } })),
  ], { yaxis: { rangemode: "tozero" } }, `No request in ${span}: no latency to show.`);

  // Click-through of shown items and interleaving are about rankings: a classifier's or
  // regressor's page does not show them.
  document.getElementById("ctr-section").hidden = !ranker;
  if (ranker) {
    champion.plotOr("ctr", series("ctr"), { yaxis: { tickformat: ".1%", rangemode: "tozero" } },
      `No item shown in ${span}.`);
  }
  const interleaving = ranker && (endpoint.policy === "interleave" || comparisons.length > 0);
  document.getElementById("interleaving-section").hidden = !interleaving;
  if (interleaving) {
    const label = (c) => `${c.challenger} vs ${c.champion}`;
    champion.plotOr("interleaving", [
      { name: "units preferring the challenger", type: "bar", x: comparisons.map(label), y: comparisons.map((c) => c.units_preferring_challenger) },
      { name: "units preferring the champion", type: "bar", x: comparisons.map(label), y: comparisons.map((c) => c.units_preferring_champion) },
      { name: "units tied", type: "bar", x: comparisons.map(label), y: comparisons.map((c) => c.units_tied) },
    ], { barmode: "group", yaxis: { title: "units" } }, "No interleaved impression has been clicked yet.");
    champion.table("interleaving-table", [
      ["pair", label],
      ["units", (c) => c.units],
      ["with a preference", (c) => c.units_tested],
      ["mean unit preference", (c) => champion.number(c.preference)],
      ["CI", (c) => (c.ci ? `[${champion.number(c.ci[0])}, ${champion.number(c.ci[1])}]` : "–")],
      ["p", (c) => champion.pvalue(c.p_value)],
      ["test", (c) => c.method],
      ["preferred", (c) => c.preferred || "undecided"],
      ["impressions won / lost / tied", (c) => `${c.wins} / ${c.losses} / ${c.ties}`],
    ], comparisons, "No interleaved impressions in this endpoint's log.");
  }

  showShadows(endpoint, total.shadows || []);

  const bandit = endpoint.bandit ? Object.entries(endpoint.bandit) : [];
  document.getElementById("bandit-section").hidden = !bandit.length;
  champion.table("bandit", [
    ["arm", ([a]) => a], ["successes", ([, s]) => s.successes], ["trials", ([, s]) => s.trials],
    ["success rate", ([, s]) => champion.percent(s.trials ? s.successes / s.trials : null)],
    ["share of traffic", ([, s]) => champion.percent(s.probability)],
  ], bandit);

  champion.table("versions", [
    ["version · arm", champion.arm], ["requests", (r) => r.requests], ["units", (r) => r.units],
    ["fallbacks", (r) => r.fallbacks],
    ...(ranker ? [["impressions", (r) => r.impressions], ["CTR", (r) => champion.percent(r.ctr)]] : []),
    ["clicks", (r) => r.clicks], ["purchases", (r) => r.purchases],
    ...(ranker ? [] : [["labels", (r) => r.labels]]),
    ["feedback coverage", (r) => champion.percent(r.feedback_coverage)],
    ["p50 ms", (r) => champion.number(r.latency_p50_ms, 2)], ["p99 ms", (r) => champion.number(r.latency_p99_ms, 2)],
  ], total.versions, "No request served yet.");

  const times = history.map((c) => new Date(c.updated_at));
  const shares = challengerShares(history);
  // Only a configuration that ever split units (canary, ab, interleave, a promotion) ramps.
  const ramped = shares.some((share) => share > 0);
  document.getElementById("ramp-section").hidden = !ramped;
  if (ramped) {
    champion.plot("ramp", [{
      name: "challenger share", type: "scatter", mode: "lines+markers", line: { shape: "hv" },
      x: [...times, new Date()], y: [...shares, shares.at(-1)],
      text: [...history.map((c) => `${c.config_version}: ${c.policy}`), "now"],
    }], { yaxis: { tickformat: ".0%", range: [0, 1.05] } });
  }
  champion.table("history", [
    ["config", (c) => c.config_version], ["when", (c) => champion.when(c.updated_at)], ["who", (c) => c.updated_by],
    ["policy", (c) => c.policy], ["params", (c) => champion.pairs(c.params)], ["why", (c) => c.reason],
  ], [...history].reverse());
});
