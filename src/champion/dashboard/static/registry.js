// The registry page (templates/registry.html); helpers from dashboard.js.
champion.every(10, async () => {
  const { models } = await champion.api("/v1/models");
  const details = await Promise.all(models.map((m) => champion.api(`/v1/models/${encodeURIComponent(m.name)}`)));
  champion.table("models", [
    ["model", (m) => m.name], ["versions", (m) => m.version_count], ["latest", (m) => m.latest_version],
    ["aliases", (m) => Object.entries(m.aliases).map(([a, n]) => `${a} → ${n}`).join(", ")],
    ["created", (m) => `${champion.when(m.created_at)} by ${m.created_by}`],
  ], models, "No model yet: champion models register FOLDER");

  const traces = [];
  const sections = details.map((model) => {
    const section = champion.el("section");
    section.appendChild(champion.el("h2", `${model.name}: versions and lineage`));
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
    ], [...model.versions].reverse());
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
