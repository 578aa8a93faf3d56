// The explorer's pages: a hash router over the JSON API (API.md). Plain DOM, no framework, no build step;
// every value from the network is set as text (never as HTML).
"use strict";

const main = document.getElementById("main");
let stream = null; // the tab's one live EventSource, open only on the live page
let timer = null;

function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v); else el.setAttribute(k, v);
  }
  for (const k of kids.flat()) if (k !== undefined && k !== null && k !== false) el.append(k);
  return el;
}
const txt = s => document.createTextNode(String(s));
const idLink = (kind, id, label) => h("a", { href: `#/${kind}/${id}`, class: "id" }, label || id);
const time = ms => ms ? new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC") : "";
const card = (...kids) => h("div", { class: "card" }, ...kids);
const kv = pairs => h("dl", { class: "kv" }, pairs.filter(p => p && p[1] !== undefined && p[1] !== null && p[1] !== "").flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
const tags = ts => ts.length ? h("div", {}, ts.map(t => h("span", { class: "tag" }, `${t.name}=${t.value}`))) : h("span", { class: "muted" }, "none");
// aos colours its prompt with terminal escapes: shown without them.
const noAnsi = s => s.replace(/\\u001b\[[0-9;]*m/g, "");
const pretty = j => h("pre", {}, noAnsi(JSON.stringify(j, null, 2)));

async function api(path) {
  const r = await fetch("api/" + path, { headers: { Accept: "application/json" } });
  const body = await r.json().catch(() => ({ error: `HTTP ${r.status}` }));
  if (!r.ok) throw Object.assign(new Error(body.error || `HTTP ${r.status}`), { status: r.status });
  return body;
}

function show(...kids) { main.replaceChildren(...kids); }
function showError(err) { show(h("h1", {}, err.status === 404 ? "Not found" : "Error"), card(h("p", { class: "bad" }, err.message))); }

const names = new Map(); // process id → Name, from the process lists this tab has loaded

function messageRow(m) {
  return h("li", { "data-id": m.id, "data-process": m.process },
    h("span", { class: "action" }, m.action || (m.slot === 0 ? "Process" : "(no Action)")),
    idLink("message", m.id),
    h("span", { class: "muted" }, "on ", idLink("process", m.process, names.get(m.process) || m.process.slice(0, 8) + "…"), ` slot ${m.slot}`),
    h("span", { class: "muted" }, time(m.timestamp)));
}

function route() {
  if (stream) { stream.close(); stream = null; }
  if (timer) { clearInterval(timer); timer = null; }
  const [path, query] = location.hash.replace(/^#/, "").split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean);
  const page = {
    "": () => livePage(params),
    processes: () => processesPage(params),
    process: () => processPage(parts[1], params),
    message: () => messagePage(parts[1], params),
    search: () => searchPage(decodeURIComponent(parts.slice(1).join("/")), params),
    modules: () => modulesPage(),
  }[parts[0] || ""];
  if (!page) return show(h("h1", {}, "Not found"), card(h("p", {}, "No such page.")));
  window.scrollTo(0, 0);
  Promise.resolve(page()).catch(showError);
}

// Live: one SSE connection; rows are prepended as they arrive; the sparklines are kept from the same events.
async function livePage(params) {
  const process = params.get("process") || "", action = params.get("action") || "";
  const list = h("ul", { class: "rows", id: "stream" });
  const dot = h("span", { class: "live-dot" });
  const status = h("span", { id: "stream-status" }, "connecting…");
  const pIn = h("input", { name: "process", placeholder: "process id", value: process, "aria-label": "process filter" });
  const aIn = h("input", { name: "action", placeholder: "Action", value: action, "aria-label": "Action filter" });
  const filters = h("form", { class: "filters", onsubmit: e => {
    e.preventDefault();
    const p = new URLSearchParams();
    if (pIn.value.trim()) p.set("process", pIn.value.trim());
    if (aIn.value.trim()) p.set("action", aIn.value.trim());
    location.hash = "#/" + (p.toString() ? "?" + p : "");
  } }, pIn, aIn, h("button", {}, "Filter"));
  const sparks = h("ul", { class: "rows", id: "activity" });
  show(h("h1", {}, "Live messages"), filters, card(h("div", {}, dot, status), list),
    h("h2", {}, "Activity (messages/s, last 60 s)"), card(sparks));

  const rates = new Map(); // pid → {counts, el}
  const drawSpark = (pid) => { const r = rates.get(pid); r.el.replaceChildren(sparkline(r.counts)); };
  try {
    const ps = await api("processes?limit=10");
    for (const p of ps.processes) {
      if (p.name) names.set(p.id, p.name);
      const el = h("span", {});
      rates.set(p.id, { counts: p.rate.slice(), el });
      sparks.append(h("li", {}, el, idLink("process", p.id, p.name || p.id), h("span", { class: "muted" }, `${p.slots} slots`)));
      drawSpark(p.id);
    }
    if (!ps.processes.length) sparks.append(h("li", { class: "muted" }, "no processes yet"));
  } catch (e) { sparks.append(h("li", { class: "bad" }, e.message)); }
  timer = setInterval(() => { for (const [pid, r] of rates) { r.counts.shift(); r.counts.push(0); drawSpark(pid); } }, 1000);

  let n = 0;
  const q = new URLSearchParams();
  if (process) q.set("process", process);
  if (action) q.set("action", action);
  stream = new EventSource("api/stream" + (q.toString() ? "?" + q : ""));
  stream.addEventListener("message", ev => {
    const m = JSON.parse(ev.data);
    list.prepend(messageRow(m));
    while (list.children.length > 200) list.lastChild.remove();
    n++;
    status.textContent = `live · ${n} messages`;
    const r = rates.get(m.process);
    if (r && Date.now() - m.timestamp < 2000) { r.counts[r.counts.length - 1]++; drawSpark(m.process); }
  });
  stream.addEventListener("ready", () => { dot.classList.add("on"); status.textContent = `live · ${n} messages`; });
  stream.addEventListener("lost", ev => list.prepend(h("li", { class: "muted" }, `${JSON.parse(ev.data).count} messages skipped (this tab fell behind)`)));
  stream.onerror = () => { dot.classList.remove("on"); status.textContent = "reconnecting…"; };
}

async function processesPage(params) {
  const before = params.get("before");
  const ps = await api("processes?limit=50" + (before ? "&before=" + before : ""));
  for (const p of ps.processes) if (p.name) names.set(p.id, p.name);
  const list = h("ul", { class: "rows" }, ps.processes.map(p => h("li", {},
    sparkline(p.rate), idLink("process", p.id), h("span", {}, p.name || ""),
    h("span", { class: "muted" }, `${p.slots} slots · ${time(p.timestamp)}`))));
  show(h("h1", {}, "Processes"), card(ps.processes.length ? list : h("p", { class: "muted" }, "No processes yet.")),
    ps.next_before ? h("div", { class: "pager" }, h("a", { href: "#/processes?before=" + ps.next_before }, "Older →")) : null);
}

async function processPage(pid, params) {
  const p = await api("processes/" + pid);
  if (p.name) names.set(pid, p.name);
  let mq = "limit=25";
  if (params.get("before")) mq += "&before=" + params.get("before");
  if (params.get("from")) mq += "&from=" + params.get("from");
  const ms = await api(`processes/${pid}/messages?${mq}`);
  const att = p.attestation;
  const newest = params.get("before") || params.get("from");
  show(
    h("h1", {}, p.name ? `${p.name} ` : "Process ", h("span", { class: "id" }, pid)),
    card(kv([
      ["Owner", h("a", { href: "#/search/" + p.owner, class: "id" }, p.owner)],
      ["Module", h("span", {}, idLink("message", p.module), p.module_format ? ` (${p.module_format}${p.module_name ? ", " + p.module_name : ""})` : "")],
      ["Scheduler", h("span", { class: "id" }, p.scheduler)],
      ["Spawned by", p.parent ? idLink("process", p.parent) : null],
      ["Slots", String(p.slots)],
      ["Created", time(p.timestamp)],
      ["Activity", sparkline(p.rate, 180, 28)],
      ["Verify", h("code", { id: "verify-cmd" }, p.verify)],
    ])),
    h("h2", {}, "Tags"), card(tags(p.tags)),
    h("h2", {}, "Latest output"), card(p.latest_output === null ? h("span", { class: "muted" }, "none yet") : pretty(p.latest_output)),
    h("h2", {}, "Messages"), card(
      h("ul", { class: "rows", id: "messages" }, ms.messages.map(messageRow)),
      h("div", { class: "pager" },
        newest ? h("a", { href: `#/process/${pid}` }, "← Newest") : null,
        ms.next_before !== undefined ? h("a", { href: `#/process/${pid}?before=${ms.next_before}` }, "Older →") : null,
        ms.next_from !== undefined ? h("a", { href: `#/process/${pid}?from=${ms.next_from}` }, "Next →") : null)),
    h("h2", {}, "Recent results"), card(p.recent_results.length ? h("ul", { class: "rows" }, p.recent_results.map(r => h("li", {},
      r.message ? idLink("message", r.message) : h("span", {}, `cron ${r.cron}`), h("span", { class: "muted" }, `slot ${r.slot}`),
      r.error ? h("span", { class: "bad" }, r.error) : h("span", {}, `${r.messages} messages, ${r.spawns} spawns`),
      r.output !== null ? h("code", {}, noAnsi(JSON.stringify(r.output)).slice(0, 160)) : null))) : h("span", { class: "muted" }, "none yet")),
    h("h2", {}, "Spawned processes"), card(p.children.length ? h("ul", { class: "rows" }, p.children.map(c => h("li", {}, idLink("process", c.id), c.name || ""))) : h("span", { class: "muted" }, "none")),
    h("h2", {}, "Cron"), card(kv([
      ["Intervals", p.cron.intervals.join(", ") || "none"],
      ["Cron tags", p.cron.tags.join(", ") || "none"],
      ["Subscription", p.cron.monitored ? `monitored by the MU (cursor ${p.cron.cursor || "start"})` : "not monitored"],
    ])),
    h("h2", {}, "Attestation and memory"), card(kv([
      ["Latest attestation", att ? h("span", {}, h("span", { class: "id" }, att.id), " ", att.valid ? h("span", { class: "ok" }, "✓ valid") : h("span", { class: "bad" }, "✗ " + att.error)) : "none yet"],
      ["Signed by CU", att ? h("span", { class: "id" }, att.unit) : null],
      ["For slot", att ? String(att.slot) : null],
      ["Attested memory hash", att ? h("span", { class: "id" }, att.memory_hash || "—") : null],
      ["Memory hash (hex)", p.memory_hash ? h("span", { class: "id" }, p.memory_hash) : "not computed yet"],
    ])));
}

function dataPreview(d) {
  const size = `${d.size} bytes${d.truncated ? " (preview)" : ""}`;
  if (d.kind === "empty") return h("span", { class: "muted" }, "no data");
  if (d.kind === "json") return h("div", {}, h("span", { class: "muted" }, `JSON, ${size}`), pretty(d.json));
  if (d.kind === "text") return h("div", {}, h("span", { class: "muted" }, `text, ${size}`), h("pre", {}, d.text));
  return h("div", {}, h("span", { class: "muted" }, `binary, ${size}`), h("pre", {}, d.hex.replace(/(.{64})/g, "$1\n")));
}

async function messagePage(id, params) {
  const m = await api("messages/" + id + (params.get("process") ? "?process=" + params.get("process") : ""));
  const it = m.item, a = m.assignment, r = m.result;
  const action = it ? (it.tags.find(t => t.name === "Action") || {}).value : "";
  const graphBox = h("div", { class: "graph", id: "graph" }, h("span", { class: "muted" }, "loading…"));
  const links = (ls, empty) => ls.length ? h("ul", { class: "rows" }, ls.map(l => h("li", {},
    l.id ? idLink("message", l.id, l.action || l.id) : h("span", {}, "cron of "), l.id ? h("span", { class: "id muted" }, l.id) : null,
    h("span", { class: "muted" }, `${l.kind} → `, idLink("process", l.process, l.process.slice(0, 8) + "…"))))) : h("span", { class: "muted" }, empty);
  show(
    h("h1", {}, h("span", { id: "message-action" }, action || "Message"), " ", h("span", { class: "id" }, m.id)),
    card(kv([
      ["Scheduled", m.scheduled ? h("span", {}, ...m.slots.flatMap(s => [idLink("process", s.process), ` slot ${s.slot} `])) : h("span", { class: "muted" }, "not in any process's log (sent to a wallet, or not scheduled yet)")],
      ["From", it ? h("a", { href: "#/search/" + it.owner, class: "id" }, it.owner) : null],
      ["Target", it && it.target ? idLink("process", it.target) : null],
      ["Signature", it ? (it.signature_valid ? h("span", { class: "ok" }, "✓ valid") : h("span", { class: "bad" }, "✗ invalid")) : null],
      ["Anchor", it ? it.anchor : null],
    ])),
    h("h2", {}, "Message graph"), card(graphBox),
    h("h2", {}, "Tags"), card(it ? tags(it.tags) : h("span", { class: "muted" }, "item not held")),
    h("h2", {}, "Data"), card(it ? dataPreview(it.data) : h("span", { class: "muted" }, "item not held")),
    h("h2", {}, "Assignment"), card(a ? kv([
      ["Id", h("span", { class: "id" }, a.id)],
      ["Slot", String(a.slot)],
      ["Timestamp", time(a.timestamp)],
      ["Block height", String(a.block_height)],
      ["Hash chain", h("span", {}, h("span", { class: "id" }, a.hash_chain), " ", a.hash_chain_valid === undefined ? "" : a.hash_chain_valid ? h("span", { class: "ok" }, "✓ follows the previous slot") : h("span", { class: "bad" }, "✗ broken"))],
      ["Scheduler", h("span", { class: "id" }, a.scheduler)],
      ["Signature", a.signature_valid ? h("span", { class: "ok" }, "✓ valid") : h("span", { class: "bad" }, "✗ invalid")],
    ]) : h("span", { class: "muted" }, "not scheduled")),
    h("h2", {}, "Result"), card(r ? h("div", {},
      r.error ? h("p", { class: "bad" }, "Error: " + r.error) : null,
      h("div", { class: "muted" }, `${r.messages.length} messages · ${r.spawns.length} spawns · ${r.assignments.length} assignments`),
      h("h3", {}, "Output"), pretty(r.output),
      r.messages.length ? [h("h3", {}, "Messages"), pretty(r.messages)] : null,
      r.spawns.length ? [h("h3", {}, "Spawns"), pretty(r.spawns)] : null) : h("span", { class: "muted" }, "no result yet")),
    h("h2", {}, "Caused by"), card(links(m.caused_by, "a user (not caused by another message)")),
    h("h2", {}, "Caused"), card(h("div", { id: "caused" }, links(m.caused, "nothing"))));
  try {
    const g = await api(`messages/${m.id}/graph`);
    graphBox.replaceChildren(g.nodes.length > 1 || g.parent ? drawGraph(g) : h("span", { class: "muted" }, "This message caused no messages."),
      g.truncated ? h("p", { class: "muted" }, "Graph truncated: open a node to see further.") : "");
  } catch (e) { graphBox.replaceChildren(h("span", { class: "bad" }, e.message)); }
}

async function searchPage(q, params) {
  document.getElementById("q").value = q;
  const before = params.get("before");
  const s = await api("search?limit=50&q=" + encodeURIComponent(q) + (before ? "&before=" + before : ""));
  if (s.kind === "id" && s.processes.length === 1 && !s.messages.filter(m => m.slot !== 0).length) return processPage(s.processes[0].id, new URLSearchParams());
  if (s.kind === "id" && !s.processes.length && s.messages.length === 1) return messagePage(s.messages[0].id, new URLSearchParams());
  show(h("h1", {}, "Search: ", h("span", { class: "id" }, q)),
    s.processes.length ? [h("h2", {}, "Processes"), card(h("ul", { class: "rows" }, s.processes.map(p => h("li", {}, idLink("process", p.id), p.name || ""))))] : null,
    h("h2", {}, "Messages"), card(s.messages.length ? h("ul", { class: "rows", id: "results" }, s.messages.map(messageRow)) : h("p", { class: "muted" }, "No messages found.")),
    s.next_before ? h("div", { class: "pager" }, h("a", { href: `#/search/${encodeURIComponent(q)}?before=${s.next_before}` }, "More →")) : null);
}

async function modulesPage() {
  const ms = await api("modules?limit=100");
  show(h("h1", {}, "Modules"), card(ms.modules.length ? h("ul", { class: "rows" }, ms.modules.map(m => h("li", {},
    h("span", { class: "id" }, m.id), h("span", {}, m.name || ""), h("span", { class: "muted" }, `${m.format || "?"} · ${m.processes} processes`)))) : h("p", { class: "muted" }, "No modules in use yet.")));
}

document.getElementById("search").addEventListener("submit", e => {
  e.preventDefault();
  const q = document.getElementById("q").value.trim();
  if (q) location.hash = "#/search/" + encodeURIComponent(q);
});
window.addEventListener("hashchange", route);
route();
