// The registry page (templates/registry.html); helpers from dashboard.js.
// Filters live in the address (the form submits to this page), so a filtered page and each
// next page are links; versions come a page at a time from GET /v1/models/{m}/versions.
const query = new URLSearchParams(window.location.search);
const FILTERS = ["model", "tag", "alias", "creator", "since", "metric"];
const PAGE = 20;
for (const name of FILTERS.slice(1)) document.getElementById(`filter-${name}`).value = query.get(name) || "";

function listing(model) {
  const since = query.get("since");
  return {
    limit: PAGE,
    cursor: query.get("model") === model ? query.get("cursor") : null,
    tag: query.get("tag"),
    alias: query.get("alias"),
    creator: query.get("creator"),
    created_after: since ? `${since}T00:00:00Z` : null,
    metric: query.get("metric"),
  };
}

// This page's address with the same filters, on `model`'s page after `cursor`.
function pageLink(model, cursor, text) {
  const address = new URLSearchParams();
  for (const name of FILTERS.slice(1)) if (query.get(name)) address.set(name, query.get(name));
  address.set("model", model);
  if (cursor) address.set("cursor", cursor);
  return champion.link(`/registry?${address}`, text);
}

champion.every(10, async () => {
  const { models } = await champion.api("/v1/models");
  const select = document.getElementById("filter-model");
  if (select.options.length !== models.length + 1) {
    select.replaceChildren(new Option("every model", ""), ...models.map((m) => new Option(m.name, m.name)));
  }
  select.value = query.get("model") || "";
  const chosen = models.filter((m) => !query.get("model") || m.name === query.get("model"));
  const error = document.getElementById("filter-error");
  let details;
  try {
    details = await Promise.all(chosen.map(async (m) => ({
      name: m.name, ...(await champion.api(`/v1/models/${encodeURIComponent(m.name)}/versions`, listing(m.name))),
    })));
    error.textContent = "";
  } catch (failed) {
    error.textContent = failed.message;  // a bad filter: the API's message names the field
    details = [];
  }
  champion.table("models", [
    ["model", (m) => m.name], ["versions", (m) => m.version_count], ["latest", (m) => m.latest_version],
    ["aliases", (m) => Object.entries(m.aliases).map(([a, n]) => `${a} → ${n}`).join(", ")],
    ["created", (m) => `${champion.when(m.created_at)} by ${m.created_by}`],
  ], models, "No model yet: champion models register FOLDER");

  const traces = [];
  const sections = details.map((model) => {
    const section = champion.el("section");
    const filtered = FILTERS.slice(1).some((name) => query.get(name));
    section.appendChild(champion.el("h2", `${model.name}: versions and lineage${filtered ? " (filtered)" : ""}, newest first`));
    const holder = champion.el("div");
    section.appendChild(holder);
    champion.table(holder, [
      ["version", (v) => {
        const cell = champion.el("span", `${model.name}/${v.version} `);
        v.aliases.forEach((a) => cell.appendChild(champion.el("span", a, "pill")));
        return cell;
      }],
      ["kind / flavor", (v) => `${v.kind} / ${v.flavor}`],
      ["created", (v) => `${champion.when(v.created_at)} by ${v.created_by}`],
      ["lineage", (v) => champion.pairs(Object.fromEntries(Object.entries({
        "trained by": v.lineage.trained_by,
        code: v.lineage.code_version,
        data: v.lineage.data ? [v.lineage.data.location, v.lineage.data.rows !== undefined ? `${v.lineage.data.rows} rows` : null, (v.lineage.data.fingerprint || "").slice(0, 19) || null].filter(Boolean).join(" · ") : null,
        description: v.lineage.description,
      }).filter(([, value]) => value !== null && value !== undefined && value !== "")))],
      ["params", (v) => (v.lineage.params && Object.keys(v.lineage.params).length ? champion.pairs(v.lineage.params) : null)],
      ["metrics", (v) => (Object.keys(v.lineage.metrics || {}).length ? champion.pairs(Object.fromEntries(Object.entries(v.lineage.metrics).map(([k, x]) => [k, champion.number(x)]))) : null)],
      ["inputs", (v) => (v.signature.inputs || []).map((f) => f.name).join(", ")],
      ["files", (v) => `${Object.keys(v.files).length} · ${champion.number(v.size_bytes / 1024, 1)} KiB`],
    ], model.versions, filtered ? "No version matches these filters." : "No version yet.");
    const pages = champion.el("p", null, "pages");
    if (query.get("model") === model.name && query.get("cursor")) pages.append(pageLink(model.name, null, "← newest"), " ");
    if (model.next_cursor) pages.append(pageLink(model.name, model.next_cursor, `next ${PAGE} →`));
    section.appendChild(pages);
    const names = [...new Set(model.versions.flatMap((v) => Object.keys(v.lineage.metrics || {})))];
    for (const metric of names) {
      traces.push({
        name: `${model.name} ${metric}`, type: "bar",
        x: model.versions.map((v) => `${model.name}/${v.version}`),
        y: model.versions.map((v) => (v.lineage.metrics || {})[metric] ?? null),
      });
    }
    return section;
  });
  document.getElementById("versions").replaceChildren(...sections);
  champion.plotOr("metrics", traces, { barmode: "group" }, "No version records offline metrics in its lineage yet.");
});
