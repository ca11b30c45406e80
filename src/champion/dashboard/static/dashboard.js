"use strict";
// Shared helpers of every dashboard page: calls to the JSON API (with the user's token),
// refreshing in place, tables built with textContent (never HTML from data), Plotly charts.
const champion = (() => {
  const TOKEN_KEY = "champion.token";
  const status = () => document.getElementById("status");

  // plotly.js loads async (base.html): pages fetch their data meanwhile, and charts wait for
  // it. Either it ran before this script, or its load event is still to come.
  const plotly = new Promise((resolve, reject) => {
    if (window.Plotly) return resolve(window.Plotly);
    const script = document.getElementById("plotly-js");
    script.addEventListener("load", () => resolve(window.Plotly));
    script.addEventListener("error", () => reject(new Error("plotly.js did not load")));
  });
  // Charts asked for during a refresh: the page says "updated" once they are drawn.
  const drawing = new Set();

  class ApiError extends Error {
    constructor(message, status) {
      super(message);
      this.status = status;
    }
  }

  function token() {
    return window.localStorage.getItem(TOKEN_KEY) || "";
  }

  function askForToken(message) {
    const form = document.getElementById("token-form");
    form.hidden = false;
    form.onsubmit = (event) => {
      event.preventDefault();
      window.localStorage.setItem(TOKEN_KEY, document.getElementById("token-input").value.trim());
      window.location.reload();
    };
    throw new ApiError(message);
  }

  async function request(method, path, params = {}, body = undefined) {
    const url = new URL(path, window.location.origin);
    for (const [key, value] of Object.entries(params)) {
      if (value !== null && value !== undefined && value !== "") url.searchParams.set(key, value);
    }
    const headers = { Accept: "application/json" };
    if (token()) headers.Authorization = `Bearer ${token()}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const answer = await response.json().catch(() => ({}));
    if (response.status === 401 || response.status === 403) {
      askForToken(answer.error ? answer.error.message : "This server needs a token.");
    }
    if (!response.ok) {
      throw new ApiError(answer.error ? answer.error.message : `${response.status} ${path}`, response.status);
    }
    return answer;
  }

  const api = (path, params = {}) => request("GET", path, params);
  // A state-changing call (the token needs the admin scope).
  const post = (path, body = {}) => request("POST", path, {}, body);

  // Ask before acting: the dialog names the action, takes a reason, and runs act(reason).
  // Resolves with act's answer, or null when cancelled; an error stays in the dialog.
  function confirmAction(title, message, act) {
    const dialog = document.getElementById("confirm");
    document.getElementById("confirm-title").textContent = title;
    document.getElementById("confirm-message").textContent = message;
    document.getElementById("confirm-error").textContent = "";
    const reason = document.getElementById("confirm-reason");
    reason.value = "";
    dialog.showModal();
    return new Promise((resolve) => {
      const form = document.getElementById("confirm-form");
      form.onsubmit = async (event) => {
        event.preventDefault();
        if (event.submitter && event.submitter.value === "cancel") {
          dialog.close();
          resolve(null);
          return;
        }
        try {
          const answer = await act(reason.value.trim());
          dialog.close();
          resolve(answer);
        } catch (error) {
          document.getElementById("confirm-error").textContent = error.message;
        }
      };
      dialog.oncancel = () => resolve(null);
    });
  }

  // Run refresh() now and every `seconds`; the page never reloads. Returns a function that
  // refreshes at once (after a control changed) and keeps the rhythm from there.
  let gone = false;  // the page's subject is missing (see missing): nothing to refresh

  function every(seconds, refresh) {
    let timer = null;
    let busy = false;
    let again = false;  // asked for while a refresh ran: one more right after it
    async function tick() {
      window.clearTimeout(timer);
      if (gone) return;
      if (busy) {
        again = true;
        return;
      }
      busy = true;
      try {
        await refresh();
        await Promise.all(drawing);
        status().textContent = `updated ${new Date().toLocaleTimeString()}`;
        status().classList.remove("error");
      } catch (error) {
        status().textContent = error.message;
        status().classList.add("error");
      } finally {
        busy = false;
      }
      if (again) {
        again = false;
        tick();
        return;
      }
      if (gone) return;
      timer = window.setTimeout(tick, seconds * 1000);
    }
    tick();
    return tick;
  }

  // The page's subject does not exist (a server with tokens serves every page's shell, so
  // its script finds out): the panels give way to the API's message.
  function missing(message) {
    gone = true;  // asking again every few seconds would only be told the same
    const section = el("section", null, "missing");
    const text = el("p", message);
    text.id = "missing";
    section.append(text, link("/", "All endpoints on the overview →"));
    document.querySelector("main").replaceChildren(document.querySelector("main h1"), section);
  }

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function link(href, text) {
    const node = el("a", text);
    node.href = href;
    return node;
  }

  // columns: [[heading, row => text or Node], ...]
  function table(container, columns, rows, empty = "nothing yet") {
    const root = typeof container === "string" ? document.getElementById(container) : container;
    const out = el("table");
    const head = out.createTHead().insertRow();
    for (const [heading] of columns) head.appendChild(el("th", heading));
    const body = out.createTBody();
    for (const row of rows) {
      const tr = body.insertRow();
      for (const [, cell] of columns) {
        const value = cell(row);
        const td = tr.insertCell();
        if (value instanceof Node) td.appendChild(value);
        else td.textContent = value === null || value === undefined ? "–" : String(value);
      }
    }
    if (!rows.length) {
      const td = body.insertRow().insertCell();
      td.colSpan = columns.length;
      td.className = "muted";
      td.textContent = empty;
    }
    root.replaceChildren(out);
  }

  function plot(id, traces, layout = {}) {
    const base = {
      margin: { t: 30, r: 10, b: 40, l: 50 },
      legend: { orientation: "h", y: -0.2 },
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      font: { size: 12 },
    };
    const drawn = plotly.then((Plotly) => Plotly.react(id, traces, { ...base, ...layout }, {
      displaylogo: false,
      responsive: true,
    }));
    drawing.add(drawn);
    drawn.finally(() => drawing.delete(drawn)).catch(() => {});  // its error surfaces in every()
    return drawn;
  }

  // Whether a trace has a value to draw: its y (horizontal bars: x; heatmaps: z).
  function hasValues(trace) {
    const values = trace.z ? trace.z.flat() : trace.orientation === "h" ? trace.x : trace.y;
    return (values || []).some((v) => v !== null && v !== undefined && !Number.isNaN(v));
  }

  // A chart, or in its place a sentence saying why there is nothing to draw: blank axes
  // (or axes spanning a made-up year) tell the reader nothing.
  function plotOr(id, traces, layout, sentence, drawn = traces.some(hasValues)) {
    const node = document.getElementById(id);
    if (!drawn) {
      if (node.data) window.Plotly.purge(node);
      node.replaceChildren(el("p", sentence, "muted"));
      node.classList.add("empty");
      return null;
    }
    if (node.classList.contains("empty")) {
      node.classList.remove("empty");
      node.replaceChildren();
    }
    return plot(node, traces, layout);
  }

  // A JSON value as a key/value list, readable and wrapping in place of one long line of
  // JSON. Values nested deeper than `open` levels fold into a <details> naming their keys.
  function pairs(value, open = 1) {
    if (value === null || value === undefined) return el("span", "–", "muted");
    if (typeof value !== "object") return el("span", value);
    if (Array.isArray(value) && value.every((v) => v === null || typeof v !== "object")) {
      return el("span", value.join(", "));
    }
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i + 1), v]) : Object.entries(value);
    if (!entries.length) return el("span", "–", "muted");
    const list = el("dl", null, "pairs");
    for (const [key, v] of entries) {
      list.appendChild(el("dt", key));
      list.appendChild(el("dd")).appendChild(pairs(v, open - 1));
    }
    if (open > 0) return list;
    const folded = el("details");
    const keys = entries.map(([key]) => key);
    folded.appendChild(el("summary", keys.length > 4 ? `${keys.slice(0, 4).join(", ")}, … (${keys.length})` : keys.join(", ")));
    folded.appendChild(list);
    return folded;
  }

  // Plotly reads a few tags (<a href>, <b>, <br>) in labels and names: text from callers is
  // escaped for it, so it shows as sent.
  const plotText = (value) => String(value).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

  const number = (value, digits = 3) =>
    value === null || value === undefined ? "–" : Number(value).toLocaleString(undefined, { maximumFractionDigits: digits });
  // A p-value never reads 0: below 1e-4 it is "< 0.0001".
  const pvalue = (value) =>
    value === null || value === undefined ? "–" : value < 1e-4 ? "< 0.0001" : Number(value).toPrecision(2);
  const percent = (value) => (value === null || value === undefined ? "–" : `${(100 * value).toFixed(1)}%`);
  const when = (iso) => new Date(iso).toLocaleString();
  const json = (value) => JSON.stringify(value);
  const arm = (row) => `${row.model}/${row.version} · ${row.arm}`;

  // What share of units each version gets under an endpoint's policy (from its parameters).
  function split(endpoint) {
    const p = endpoint.params;
    switch (endpoint.policy) {
      case "single": return { [p.version]: 1 };
      case "canary": return { [p.champion]: 1 - p.share, [p.challenger]: p.share };
      case "shadow": return { [p.champion]: 1, [`${p.challenger} (shadow)`]: 0 };
      case "blue_green": return { [p[p.live || "blue"]]: 1 };
      case "interleave": return { [`${p.champion} + ${p.challenger} (merged)`]: 1 };
      case "ab": {
        const names = Object.keys(p.arms);
        const weights = p.weights || Object.fromEntries(names.map((n) => [n, 1]));
        const total = names.reduce((sum, n) => sum + weights[n], 0);
        return Object.fromEntries(names.map((n) => [`${n}: ${p.arms[n]}`, weights[n] / total]));
      }
      case "bandit":
        if (endpoint.bandit) {
          return Object.fromEntries(Object.entries(endpoint.bandit).map(([a, s]) => [a, s.probability]));
        }
        return {};
      default: return {};
    }
  }

  // A value over time as a line, with its interval as a shaded band (a closed polygon over
  // the points that have an interval) under it.
  function band(name, x, values, intervals, color) {
    const kept = x.map((at, i) => [at, intervals[i]]).filter(([, ci]) => ci);
    const fill = color.replace("rgb(", "rgba(").replace(")", ", 0.15)");
    return [
      {
        name: `${name} interval`, type: "scatter", mode: "lines", line: { width: 0 }, fill: "toself",
        fillcolor: fill, hoverinfo: "skip", showlegend: false,
        x: [...kept.map(([at]) => at), ...kept.map(([at]) => at).reverse()],
        y: [...kept.map(([, ci]) => ci[1]), ...kept.map(([, ci]) => ci[0]).reverse()],
      },
      { name, x, y: values, type: "scatter", mode: "lines+markers", line: { color } },
    ];
  }

  const COLORS = ["rgb(46, 111, 219)", "rgb(230, 126, 34)", "rgb(30, 132, 73)", "rgb(142, 68, 173)", "rgb(192, 57, 43)"];
  const interval = (ci, digits = 3) => (ci ? `[${number(ci[0], digits)}, ${number(ci[1], digits)}]` : "–");

  return {
    api, post, confirmAction, every, missing, el, link, table, plot, plotOr, pairs, band, number, pvalue, percent, when, json,
    arm, split, interval, plotText, COLORS, ApiError,
  };
})();
