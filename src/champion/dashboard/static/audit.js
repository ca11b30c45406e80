// The audit page (templates/audit.html); helpers from dashboard.js.
const form = document.getElementById("filters");
let pages = [[]];  // the newest page refreshes; older pages stay as loaded
let next = null;

function filters() {
  const values = Object.fromEntries(new FormData(form));
  for (const key of ["since", "until"]) {
    if (values[key]) values[key] = new Date(values[key]).toISOString();
  }
  return { ...values, limit: 50 };
}

function render() {
  champion.table("records", [
    ["#", (r) => r.id], ["when", (r) => champion.when(r.at)], ["who", (r) => r.actor],
    ["action", (r) => champion.el("span", r.action, "pill")], ["target", (r) => r.target],
    ["details", (r) => (Object.keys(r.details).length ? champion.pairs(r.details) : null)],
    ["why", (r) => r.reason],
  ], [...new Map(pages.flat().map((r) => [r.id, r])).values()], "No record matches.");
  document.getElementById("older").hidden = next === null;
}

async function newest() {
  const body = await champion.api("/v1/audit", filters());
  pages[0] = body.records;
  if (pages.length === 1) next = body.next;
  render();
}

form.addEventListener("submit", (event) => { event.preventDefault(); pages = [[]]; newest(); });
document.getElementById("older").addEventListener("click", async () => {
  const body = await champion.api("/v1/audit", { ...filters(), before: next });
  pages.push(body.records);
  next = body.next;
  render();
});
champion.every(5, newest);
