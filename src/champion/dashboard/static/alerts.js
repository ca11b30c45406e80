// The alerts page (templates/alerts.html); helpers from dashboard.js.
const SEVERITIES = { info: "rgb(46, 111, 219)", warning: "rgb(230, 126, 34)", critical: "rgb(192, 57, 43)" };
const severity = (a) => champion.el("span", a.severity, `severity-${a.severity}`);
const seconds = (s) => (s === 0 ? "none" : s % 86400 === 0 ? `${s / 86400}d` : s % 3600 === 0 ? `${s / 3600}h` : s % 60 === 0 ? `${s / 60}m` : `${s}s`);
const drift = (endpoint) => champion.link(`/endpoints/${encodeURIComponent(endpoint)}/drift`, endpoint);

champion.every(5, async () => {
  const [{ alerts }, { rules }] = await Promise.all([
    champion.api("/v1/alerts", { limit: 500 }), champion.api("/v1/alerts/rules"),
  ]);
  const open = alerts.filter((a) => a.state === "open");
  document.getElementById("counts").replaceChildren(...[
    ["open", open.length], ["critical open", open.filter((a) => a.severity === "critical").length],
    ["resolved", alerts.length - open.length], ["rules", rules.length],
  ].map(([label, value]) => {
    const card = champion.el("div", null, "card");
    card.append(champion.el("div", value, "value"), champion.el("div", label, "muted"));
    return card;
  }));
  champion.table("open", [
    ["severity", severity], ["rule", (a) => a.rule], ["endpoint", (a) => drift(a.endpoint)],
    ["value now", (a) => `${a.metric} ${champion.number(a.last_value)} (threshold ${champion.number(a.threshold)})`],
    ["opened", (a) => champion.when(a.opened_at)], ["message", (a) => a.message],
    ["sent to", (a) => Object.entries(a.deliveries).map(([sink, outcome]) => `${sink}: ${outcome}`).join(", ")],
  ], open, "No open alert.");
  champion.table("history", [
    ["#", (a) => a.id], ["state", (a) => champion.el("span", a.state, a.state === "open" ? "bad" : "good")],
    ["severity", severity], ["rule", (a) => a.rule], ["endpoint", (a) => drift(a.endpoint)],
    ["value when opened", (a) => `${a.metric} ${champion.number(a.value)}`],
    ["opened", (a) => champion.when(a.opened_at)],
    ["resolved", (a) => (a.resolved_at ? champion.when(a.resolved_at) : null)], ["message", (a) => a.message],
  ], alerts, "No alert yet.");
  champion.table("rules", [
    ["rule", (r) => r.name], ["endpoint", (r) => drift(r.endpoint)],
    ["fires when", (r) => `${r.metric} over ${seconds(r.window_seconds)} is ${r.operator} ${champion.number(r.threshold)}`],
    ["severity", severity], ["cooldown", (r) => seconds(r.cooldown_seconds)],
    ["sinks", (r) => r.sinks.map((s) => s.type).join(", ")], ["description", (r) => r.description],
    ["changed", (r) => (r.updated_at ? `${champion.when(r.updated_at)} by ${r.updated_by}` : null)],
  ], rules, "No rule yet: champion alerts set NAME --endpoint E --metric drift_share --above 0.3");

  // One bar per alert, from its opening to its resolution (or now), on its rule's row.
  const now = Date.now();
  champion.plotOr("timeline", Object.entries(SEVERITIES).map(([level, color]) => {
    const mine = alerts.filter((a) => a.severity === level);
    return {
      name: level, type: "bar", orientation: "h", marker: { color },
      base: mine.map((a) => a.opened_at),
      x: mine.map((a) => Math.max((a.resolved_at ? Date.parse(a.resolved_at) : now) - Date.parse(a.opened_at), 1000)),
      y: mine.map((a) => a.rule), hovertext: mine.map((a) => a.message), hoverinfo: "text",
    };
  }), { barmode: "overlay", yaxis: { type: "category", automargin: true }, xaxis: { type: "date" } },
  "No alert has opened yet.");
});
