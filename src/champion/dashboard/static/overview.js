// The overview page (templates/overview.html); helpers from dashboard.js.
const history = {};  // endpoint -> [{at, rate, errors, fallbacks}]
let previousErrors = {};

function experimentCell(x) {
  if (!x) return null;
  const span = champion.el("span");
  span.appendChild(champion.el("span", x.status.replace("_", " "), x.status === "running" ? "pill" : "muted"));
  span.appendChild(champion.el("span", ` ${x.design.goal} · ${x.design.automation}`));
  if (x.pending) span.appendChild(champion.el("div", `waiting for approval: ${x.pending.action}`, "bad"));
  return span;
}

function decisionCell(x) {
  const last = x && (x.pending || x.last_decision);  // a proposal is the newest decision
  if (!last) return x && x.status === "running" ? champion.el("span", "not looked at yet", "muted") : null;
  const div = champion.el("div");
  div.appendChild(champion.el("strong", last.decision, last.decision === "rollback" ? "bad" : last.decision === "promote" ? "good" : ""));
  div.appendChild(champion.el("div", last.reason, "muted"));
  return div;
}

champion.every(3, async () => {
  const [{ endpoints }, { experiments }, { alerts }] = await Promise.all([
    champion.api("/v1/endpoints"), champion.api("/v1/experiments"), champion.api("/v1/alerts", { state: "open" }),
  ]);
  const experimentOf = Object.fromEntries(experiments.map((x) => [x.endpoint, x]));
  document.getElementById("alert-count").textContent = alerts.length;
  champion.table("alerts", [
    ["severity", (a) => champion.el("span", a.severity, `severity-${a.severity}`)],
    ["rule", (a) => a.rule],
    ["endpoint", (a) => champion.link(`/endpoints/${encodeURIComponent(a.endpoint)}/drift`, a.endpoint)],
    ["value", (a) => `${a.metric} ${champion.number(a.last_value)} (threshold ${champion.number(a.threshold)})`],
    ["since", (a) => champion.when(a.opened_at)],
    ["message", (a) => a.message],
  ], alerts, "No open alert.");
  const start = new Date(Date.now() - 60_000).toISOString();
  const stats = await Promise.all(
    endpoints.map((e) => champion.api(`/v1/endpoints/${encodeURIComponent(e.name)}/stats`, { start })),
  );
  const now = new Date();
  endpoints.forEach((endpoint, i) => {
    const rows = stats[i].versions;
    const errors = Object.values(stats[i].errors).reduce((a, b) => a + b, 0);
    const points = (history[endpoint.name] ||= []);
    points.push({
      at: now,
      rate: rows.reduce((sum, r) => sum + r.requests, 0) / 60,
      errors: previousErrors[endpoint.name] === undefined ? 0 : errors - previousErrors[endpoint.name],
      fallbacks: rows.reduce((sum, r) => sum + r.fallbacks, 0),
    });
    if (points.length > 120) points.shift();
    previousErrors[endpoint.name] = errors;
  });

  champion.table("endpoints", [
    ["endpoint", (e) => champion.link(`/endpoints/${encodeURIComponent(e.name)}`, e.name)],
    ["policy", (e) => e.policy],
    ["traffic split", (e) => Object.entries(champion.split(e)).map(([k, v]) => `${k} ${champion.percent(v)}`).join(" · ")],
    ["serving", (e) => e.serving.join(", ")],
    ["requests / s", (e) => champion.number(history[e.name].at(-1).rate, 2)],
    ["configuration", (e) => `${e.config_version} · ${champion.when(e.updated_at)} by ${e.updated_by}`],
    ["state", (e) => (e.error ? champion.el("span", e.error, "bad") : champion.el("span", "serving", "good"))],
    ["experiment", (e) => experimentCell(experimentOf[e.name])],
    ["decision", (e) => decisionCell(experimentOf[e.name])],
    ["drift", (e) => champion.link(`/endpoints/${encodeURIComponent(e.name)}/drift`, "drift")],
  ], endpoints, "No endpoint yet: champion endpoints set NAME --version MODEL@champion");

  const names = endpoints.map((e) => e.name);
  const recent = { type: "date", range: [new Date(now - 5 * 60_000), now] };
  champion.plotOr("rate", names.map((n) => ({
    name: n, type: "scatter", mode: "lines+markers",
    x: history[n].map((p) => p.at), y: history[n].map((p) => p.rate),
  })), { xaxis: recent, yaxis: { title: "requests / s", rangemode: "tozero" } }, "No endpoint yet.");
  champion.plotOr("errors", names.flatMap((n) => [
    { name: `${n} failed`, type: "bar", x: history[n].map((p) => p.at), y: history[n].map((p) => p.errors) },
    { name: `${n} fallbacks (last minute)`, type: "scatter", mode: "lines",
      x: history[n].map((p) => p.at), y: history[n].map((p) => p.fallbacks) },
  ]), { xaxis: recent, yaxis: { rangemode: "tozero" } }, "No endpoint yet.");
  const shares = endpoints.map((e) => champion.split(e));
  const versions = [...new Set(shares.flatMap((s) => Object.keys(s)))];
  champion.plotOr("split", versions.map((v) => ({
    name: v, type: "bar", orientation: "h", y: names, x: shares.map((s) => s[v] || 0),
  })), { barmode: "stack", xaxis: { tickformat: ".0%", range: [0, 1] }, yaxis: { automargin: true } }, "No endpoint yet.");
  const answered = stats.flatMap((s) => s.versions.map((r) => ({ endpoint: s.endpoint, ...r })));
  champion.plotOr("answered", [{
    name: "requests", type: "bar", orientation: "h",
    y: answered.map((r) => `${r.endpoint}: ${champion.arm(r)}`), x: answered.map((r) => r.requests),
  }], {
    showlegend: false, margin: { t: 10, r: 10, b: 40, l: 10 },
    yaxis: { type: "category", automargin: true }, xaxis: { title: "requests", rangemode: "tozero" },
  }, "No request was answered in the last minute.");
});
