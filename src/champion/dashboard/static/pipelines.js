// The pipelines page (templates/pipelines.html); helpers from dashboard.js.
const path = (...parts) => parts.map((p) => encodeURIComponent(p)).join("/");
const secs = (s) => (s === null || s === undefined ? "–" : `${champion.number(s, 2)} s`);
const sourceOf = (p) => p.spec.source.name || p.name;
let refreshNow = () => {};

function stepsCell(run) {
  const timed = run.steps.filter((s) => s.seconds !== null);
  const slowest = timed.reduce((best, s) => (best && best.seconds >= s.seconds ? best : s), null);
  const span = champion.el("span");
  run.steps.forEach((s, i) => {
    if (i) span.appendChild(document.createTextNode(" · "));
    const part = champion.el("span", `${s.step} ${secs(s.seconds)}`, s === slowest ? "slow" : s.status === "failed" ? "bad" : "");
    if (s === slowest) part.title = "the slowest step of this run";
    span.appendChild(part);
  });
  return span;
}

function approveButton(pipeline, run) {
  if (run.status !== "awaiting_approval") return null;
  const button = champion.el("button", "Approve…", "primary");
  button.type = "button";
  button.addEventListener("click", async () => {
    const done = await champion.confirmAction(
      `Approve run ${run.id} of ${pipeline}`,
      `Let run ${run.id} register its model and deploy it as the pipeline says.`,
      (reason) => champion.post(`/v1/pipelines/${path(pipeline, "runs", run.id)}/approve`, { reason }),
    );
    if (done) refreshNow();
  });
  return button;
}

function runSection(pipeline, runs) {
  const section = champion.el("section");
  section.appendChild(champion.el("h2", `${pipeline.name}: runs`));
  const chart = champion.el("div", null, "chart");
  chart.id = `steps-${pipeline.name}`;
  const holder = champion.el("div");
  section.append(chart, holder);
  champion.table(holder, [
    ["#", (r) => r.id], ["status", (r) => champion.el("span", r.status.replace("_", " "), r.status === "failed" ? "bad" : r.status === "succeeded" ? "good" : "")],
    ["trigger", (r) => r.trigger], ["by", (r) => r.actor], ["queued", (r) => champion.when(r.created_at)],
    ["took", (r) => secs(r.steps.reduce((sum, s) => sum + (s.seconds || 0), 0))],
    ["steps (the slowest marked)", stepsCell], ["version", (r) => (r.version ? `${pipeline.spec.model}/${r.version}` : null)],
    ["outcome", (r) => r.error || r.outcome || r.reason], ["", (r) => approveButton(pipeline.name, r)],
  ], runs, "No run yet: champion pipeline run NAME");
  return [section, chart];
}

function plotSteps(chart, runs) {
  const ordered = [...runs].reverse();
  const steps = [...new Set(ordered.flatMap((r) => r.steps.map((s) => s.step)))];
  champion.plot(chart, steps.map((step) => ({
    name: step, type: "bar", x: ordered.map((r) => `#${r.id}`),
    y: ordered.map((r) => { const s = r.steps.find((t) => t.step === step); return s ? s.seconds : null; }),
  })), { barmode: "stack", xaxis: { type: "category", title: "run (oldest first)" }, yaxis: { title: "seconds", rangemode: "tozero" } });
}

async function sourceSection(source) {
  const { files } = await champion.api(`/v1/sources/${path(source)}/files`);
  const section = champion.el("section");
  section.appendChild(champion.el("h2", `Source ${source}: ingested files`));
  const chart = champion.el("div", null, "chart");
  chart.id = `files-${source}`;
  const holder = champion.el("div");
  section.append(chart, holder);
  champion.table(holder, [
    ["#", (f) => f.id], ["file", (f) => f.path.split("/").at(-1)], ["status", (f) => f.status],
    ["rows", (f) => f.rows], ["accepted", (f) => f.accepted_rows],
    ["quarantined", (f) => champion.el("span", f.quarantined_rows, f.quarantined_rows ? "bad" : "")],
    ["reason", (f) => f.reason], ["ingested", (f) => `${champion.when(f.ingested_at)} by ${f.ingested_by}`],
    ["sha256", (f) => champion.el("code", f.sha256.slice(0, 12))],
  ], [...files].reverse(), "No file ingested yet.");
  const bad = [...files].reverse().find((f) => f.quarantined_rows > 0);
  if (bad) {
    const { rows } = await champion.api(`/v1/sources/${path(source, "files", bad.id)}/quarantine`);
    const shown = rows.length > 20 ? `the first 20 of ${rows.length}` : `${rows.length} ${rows.length === 1 ? "row" : "rows"}`;
    section.appendChild(champion.el("h2", `Quarantined rows of ${bad.path.split("/").at(-1)} (${shown})`));
    const quarantined = champion.el("div");
    section.appendChild(quarantined);
    champion.table(quarantined, [
      ["row", (q) => q.row], ["why", (q) => q.reasons.join("; ")],
      ["values", (q) => champion.pairs(q.values)],
    ], rows.slice(0, 20));
  }
  return [section, () => champion.plot(chart, [
    { name: "accepted", type: "bar", x: files.map((f) => `#${f.id}`), y: files.map((f) => f.accepted_rows) },
    { name: "quarantined", type: "bar", x: files.map((f) => `#${f.id}`), y: files.map((f) => f.quarantined_rows), marker: { color: "rgb(192, 57, 43)" } },
  ], { barmode: "stack", xaxis: { type: "category", title: "file" }, yaxis: { title: "rows" } })];
}

let ticks = 0;
refreshNow = champion.every(5, async () => {
  // The diagnosis does more work: every sixth refresh (30 s).
  if (ticks++ % 6 === 0) await showTrends();
  const { pipelines } = await champion.api("/v1/pipelines");
  champion.table("pipelines", [
    ["pipeline", (p) => p.name], ["model", (p) => p.spec.model], ["source", (p) => sourceOf(p)],
    ["revision", (p) => p.revision], ["automation", (p) => p.spec.automation],
    ["schedule", (p) => (p.spec.schedule ? p.spec.schedule.every || p.spec.schedule.cron : p.spec.on_new_data ? "on new data" : "by hand")],
    ["next run", (p) => (p.next_run_at ? champion.when(p.next_run_at) : null)],
    ["deploys to", (p) => (p.spec.deploy ? `${p.spec.deploy.endpoint} (${p.spec.deploy.policy})` : null)],
    ["changed", (p) => `${champion.when(p.updated_at)} by ${p.updated_by}`],
  ], pipelines, "No pipeline yet: champion pipeline apply pipeline.yaml");
  const runs = await Promise.all(pipelines.map((p) => champion.api(`/v1/pipelines/${path(p.name)}/runs`, { limit: 20 })));
  const sections = pipelines.map((p, i) => runSection(p, runs[i].runs));
  document.getElementById("runs").replaceChildren(...sections.map(([section]) => section));
  sections.forEach(([, chart], i) => plotSteps(chart, runs[i].runs));
  const sources = await Promise.all([...new Set(pipelines.map(sourceOf))].map(sourceSection));
  document.getElementById("sources").replaceChildren(...sources.map(([section]) => section));
  sources.forEach(([, draw]) => draw());
});

// The trend of each step against its own history, as champion diagnose reports it.
async function showTrends() {
  const report = await champion.api("/v1/diagnostics", { history: 20, live_rows: 1 });
  const rows = Object.entries(report.pipelines || {}).flatMap(([pipeline, t]) => t.steps.map((s) => ({
    pipeline, ...s, slowest: t.slowest_latest && t.slowest_latest.step === s.step ? t.slowest_latest : null,
  })));
  rows.sort((a, b) => (b.slowest ? 1 : 0) - (a.slowest ? 1 : 0));
  champion.table("trends", [
    ["pipeline", (r) => r.pipeline],
    ["step", (r) => champion.el("span", r.step, r.slowest ? "slow" : "")],
    ["newest", (r) => secs(r.latest_seconds)], ["median before", (r) => secs(r.median_seconds)],
    ["trend", (r) => champion.el("span", r.trend, r.trend === "slower" ? "bad" : r.trend === "faster" ? "good" : "")],
    ["share of the newest run", (r) => (r.slowest ? champion.percent(r.slowest.share) : null)],
    ["runs", (r) => r.history.length],
  ], rows, "No timed step yet.");
  const dependencies = report.dependencies || {};
  const check = dependencies.update_check;
  document.getElementById("update-check").textContent = check ? check.message : "";
  const packages = (dependencies.versions || []).flatMap((v) => v.packages.map((p) => ({ version: v.version, ...p })));
  champion.table("packages", [
    ["version", (p) => p.version], ["package", (p) => p.package], ["trained with", (p) => p.trained_with],
    ["installed", (p) => p.installed], ["status", (p) => champion.el("span", p.status, p.status === "same" ? "" : "bad")],
    ["newest", (p) => p.newest],
  ], packages, "No served version records its packages.");
}
