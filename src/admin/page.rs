//! `GET /`: the status page for people. One self-contained HTML document (no build step, no
//! external assets) that reads `/v1/status` every two seconds and draws it with DOM calls
//! (`textContent`, never `innerHTML`, so names from the config cannot inject markup): a summary
//! banner at the top (names failing over, names failing open, data centers with nothing up or
//! drained, each linked to its row, or "all healthy"), degraded names first and highlighted,
//! every time in UTC, and drain/undrain buttons that call the admin API (asking for the token
//! once when the server answers 401, kept in `sessionStorage`).
//!
//! Owns: the page's markup, style and script. Must not: decide anything the API does not say
//! (failing open comes from `/v1/status`, never recomputed here); it only counts and sorts.

/// The page.
pub(crate) const INDEX: &str = r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>gslb status</title>
<style>
  :root { --up: #1a7f37; --down: #cf222e; --drained: #9a6700; --muted: #57606a; --bad-bg: #ffebe9; --warn-bg: #fff8c5; --ok-bg: #dafbe1; }
  body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5rem; color: #1f2328; }
  h1 { font-size: 1.4rem; margin: 0 0 .25rem; }
  h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
  h3 { margin: .2rem 0 .4rem; }
  .meta { color: var(--muted); margin-bottom: .75rem; }
  #banner { padding: .6rem .9rem; border-radius: 6px; margin-bottom: 1rem; border: 1px solid #d0d7de; }
  #banner.ok { background: var(--ok-bg); border-color: var(--up); color: var(--up); font-weight: 600; }
  #banner.bad { background: var(--bad-bg); border-color: var(--down); }
  #banner ul { margin: .2rem 0; padding-left: 1.2rem; }
  #banner .what { font-weight: 600; }
  #banner a { color: inherit; }
  table { border-collapse: collapse; margin-bottom: 1rem; min-width: 40rem; }
  th, td { text-align: left; padding: .3rem .7rem; border-bottom: 1px solid #d0d7de; vertical-align: top; }
  th { background: #f6f8fa; font-weight: 600; }
  tr.alert td { background: var(--bad-bg); }
  tr.warn td { background: var(--warn-bg); }
  .badge { font-weight: 700; color: var(--down); text-transform: uppercase; font-size: .8rem; }
  section.name { padding: .2rem .6rem; margin-bottom: .6rem; border-left: 4px solid transparent; }
  section.degraded { border-left-color: var(--drained); background: var(--warn-bg); }
  section.failing-open { border-left-color: var(--down); background: var(--bad-bg); }
  .state { font-weight: 600; text-transform: uppercase; font-size: .8rem; }
  .state-up { color: var(--up); } .state-down { color: var(--down); } .state-drained { color: var(--drained); }
  .open { color: var(--down); font-weight: 600; }
  button { font: inherit; font-size: .8rem; padding: .05rem .5rem; cursor: pointer; }
  code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; }
  #error { color: var(--down); font-weight: 600; }
  #action { color: var(--muted); }
</style>
</head>
<body>
<h1>gslb</h1>
<div id="banner">loading…</div>
<div class="meta"><span id="summary">loading…</span> <span id="error"></span> <span id="action"></span></div>
<div id="cluster" hidden><h2>NS set</h2>
<div class="meta" id="cluster-store"></div>
<table id="members"><thead><tr><th>instance</th><th>version</th><th>listens on</th><th>config hash</th><th>started (UTC)</th><th>lease renewed</th></tr></thead><tbody></tbody></table></div>
<h2>Data centers</h2>
<table id="datacenters"><thead><tr><th>data center</th><th>endpoints</th><th>up</th><th>drained</th><th>status</th><th>used by</th><th>networks</th><th></th></tr></thead><tbody></tbody></table>
<h2>Balanced names</h2>
<div id="balanced"></div>
<h2>Recent changes</h2>
<table id="transitions"><thead><tr><th>time (UTC)</th><th>endpoint</th><th>data center</th><th>change</th><th>reason</th></tr></thead><tbody></tbody></table>
<script>
"use strict";
const TOKEN_KEY = "gslb-admin-token";
function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}
function row(cells) {
  const tr = el("tr");
  for (const c of cells) { const td = el("td"); if (c instanceof Node) td.appendChild(c); else td.textContent = c === null || c === undefined ? "" : String(c); tr.appendChild(td); }
  return tr;
}
function plural(n, one, many) { return n + " " + (n === 1 ? one : (many || one + "s")); }
function ago(s) {
  if (s < 60) return s + "s";
  if (s < 3600) return Math.floor(s / 60) + "m " + (s % 60) + "s";
  if (s < 86400) return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
  return Math.floor(s / 86400) + "d";
}
// Every time on the page is UTC: "2026-12-02 00:51:58 UTC".
function utc(d) {
  const t = d instanceof Date ? d : new Date(d);
  if (isNaN(t.getTime())) return String(d);
  return t.toISOString().slice(0, 19).replace("T", " ") + " UTC";
}
function link(anchor, text) { const a = el("a", text); a.href = "#" + anchor; return a; }
function nameId(n) { return "name-" + n; }
function dcId(n) { return "dc-" + n; }

// POST a drain or undrain; asks for the token when the server answers 401.
async function act(path, what) {
  const out = document.getElementById("action");
  for (let attempt = 0; attempt < 2; attempt++) {
    const headers = {};
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers["Authorization"] = "Bearer " + token;
    let r, body;
    try {
      r = await fetch(path, { method: "POST", headers, cache: "no-store" });
      body = await r.json().catch(() => ({}));
    } catch (e) { out.textContent = what + " failed: " + e.message; return; }
    if (r.status === 401 && attempt === 0) {
      sessionStorage.removeItem(TOKEN_KEY);
      const t = window.prompt("This gslb needs its admin token (the content of [admin] token_file) to " + what + ":");
      if (!t) { out.textContent = what + ": cancelled (no token)"; return; }
      sessionStorage.setItem(TOKEN_KEY, t.trim());
      continue;
    }
    if (!r.ok) { if (r.status === 401) sessionStorage.removeItem(TOKEN_KEY); out.textContent = what + " failed: " + (body.error || ("status " + r.status)); return; }
    out.textContent = (body.drained ? "drained " : "undrained ") + body.target + " at " + utc(new Date());
    refresh();
    return;
  }
}
function button(label, path, what, kind) {
  const b = el("button", label);
  b.type = "button";
  b.dataset.action = kind;
  b.addEventListener("click", () => act(path, what));
  return b;
}

// Per data center: its distinct endpoint addresses (one address used by three names counts
// once) with their states, and the names using them.
function datacenterFacts(st) {
  const dcs = new Map(st.datacenters.map(d => [d.name, { addrs: new Map(), names: new Set() }]));
  for (const b of st.balanced) for (const e of b.endpoints) {
    if (!dcs.has(e.datacenter)) dcs.set(e.datacenter, { addrs: new Map(), names: new Set() });
    const f = dcs.get(e.datacenter);
    f.names.add(b.name);
    const prev = f.addrs.get(e.address);
    // One address has one state; should rows ever differ, the worst one counts.
    const rank = { up: 0, drained: 1, down: 2 };
    if (prev === undefined || rank[e.state] > rank[prev]) f.addrs.set(e.address, e.state);
  }
  const out = new Map();
  for (const [name, f] of dcs) {
    const states = [...f.addrs.values()];
    out.set(name, {
      endpoints: states.length,
      up: states.filter(s => s === "up").length,
      down: states.filter(s => s === "down").length,
      drained: states.filter(s => s === "drained").length,
      names: f.names.size,
    });
  }
  return out;
}
function nameProblem(b) {
  const down = b.endpoints.filter(e => e.state === "down").length;
  const drained = b.endpoints.filter(e => e.state === "drained").length;
  if (b.failing_open) return { kind: "open", down, drained };
  if (down + drained > 0) return { kind: "over", down, drained };
  return null;
}
function problemText(b, p) {
  const parts = [];
  if (p.down) parts.push(p.down + " of " + b.endpoints.length + " down");
  if (p.drained) parts.push(p.drained + " of " + b.endpoints.length + " drained");
  return parts.join(", ");
}
function banner(st, facts) {
  const over = [], open = [], dcDown = [], dcDrained = [];
  for (const b of st.balanced) {
    const p = nameProblem(b);
    if (p && p.kind === "open") open.push([b, p]); else if (p) over.push([b, p]);
  }
  for (const d of st.datacenters) {
    const f = facts.get(d.name);
    if (!f || f.endpoints === 0) continue;
    if (f.up === 0 && f.drained === f.endpoints) dcDrained.push([d, f]);
    else if (f.up === 0) dcDown.push([d, f]);
  }
  const ban = document.getElementById("banner");
  ban.replaceChildren();
  if (!over.length && !open.length && !dcDown.length && !dcDrained.length) {
    ban.className = "ok";
    ban.textContent = "All healthy: " + plural(st.balanced.length, "balanced name") + ", every endpoint up.";
    ban.dataset.state = "healthy";
    return;
  }
  ban.className = "bad";
  ban.dataset.state = "degraded";
  const ul = ban.appendChild(el("ul"));
  const item = (what, list, text) => {
    if (!list.length) return;
    const li = ul.appendChild(el("li"));
    li.appendChild(el("span", what + ": ", "what"));
    list.forEach(([x, p], i) => {
      if (i) li.appendChild(document.createTextNode("; "));
      li.appendChild(text(x, p));
    });
  };
  const nameLink = (b, p) => { const s = el("span"); s.appendChild(link(nameId(b.name), b.name)); s.appendChild(document.createTextNode(" (" + problemText(b, p) + ")")); return s; };
  const dcLink = (d, f) => { const s = el("span"); s.appendChild(link(dcId(d.name), d.name)); s.appendChild(document.createTextNode(" (" + plural(f.endpoints, "endpoint") + ", " + (f.down ? f.down + " down" : "") + (f.down && f.drained ? ", " : "") + (f.drained ? f.drained + " drained" : "") + ")")); return s; };
  item("Failing open (every endpoint of a family down, answering them anyway)", open, nameLink);
  item("Failing over (answers changed)", over, nameLink);
  item("Data centers with nothing up", dcDown, dcLink);
  item("Data centers drained", dcDrained, dcLink);
  ban.dataset.failingOpen = open.map(([b]) => b.name).join(" ");
  ban.dataset.failingOver = over.map(([b]) => b.name).join(" ");
  ban.dataset.datacentersDown = dcDown.map(([d]) => d.name).join(" ");
  ban.dataset.datacentersDrained = dcDrained.map(([d]) => d.name).join(" ");
}
function draw(st) {
  const facts = datacenterFacts(st);
  banner(st, facts);
  document.getElementById("summary").textContent =
    plural(st.balanced.length, "balanced name") + ", " + plural(st.zones.length, "zone") + " · config generation " +
    st.config_generation + (st.last_reload_ok ? "" : " (last reload rejected)") +
    " · health generation " + st.health_generation + " · updated " + utc(new Date());
  const dc = document.querySelector("#datacenters tbody");
  dc.replaceChildren(...st.datacenters.map(d => {
    const f = facts.get(d.name) || { endpoints: 0, up: 0, down: 0, drained: 0, names: 0 };
    const allDrained = f.endpoints > 0 && f.drained === f.endpoints;
    const status = f.endpoints > 0 && f.up === 0 ? el("span", allDrained ? "drained" : "nothing up", "badge") : (f.endpoints === 0 ? "no endpoints" : (f.down ? f.down + " down" : "ok"));
    const actions = el("span");
    const base = "/v1/datacenters/" + encodeURIComponent(d.name) + "/";
    if (f.drained < f.endpoints || f.endpoints === 0) actions.appendChild(button("drain", base + "drain", "drain data center " + d.name, "drain-datacenter"));
    if (f.drained > 0) actions.appendChild(button("undrain", base + "undrain", "undrain data center " + d.name, "undrain-datacenter"));
    const r = row([d.name, f.endpoints, f.up, f.drained, status, plural(f.names, "name"), d.networks.join(", "), actions]);
    r.id = dcId(d.name);
    r.dataset.datacenter = d.name;
    if (f.endpoints > 0 && f.up === 0) r.className = allDrained ? "warn" : "alert";
    return r;
  }));
  const bal = document.getElementById("balanced");
  bal.replaceChildren();
  // Degraded names first (failing open, then failing over), each group in config order.
  const rank = b => { const p = nameProblem(b); return p ? (p.kind === "open" ? 0 : 1) : 2; };
  const names = st.balanced.map((b, i) => [b, i]).sort((x, y) => rank(x[0]) - rank(y[0]) || x[1] - y[1]).map(x => x[0]);
  for (const b of names) {
    const p = nameProblem(b);
    const sec = el("section", null, "name" + (p ? (p.kind === "open" ? " failing-open" : " degraded") : ""));
    sec.id = nameId(b.name);
    const h = el("h3", b.name + " · " + b.policy + " · ttl " + b.ttl + " · " + b.endpoints_up + "/" + b.endpoints.length + " up");
    h.dataset.name = b.name;
    sec.appendChild(h);
    if (b.failing_open) sec.appendChild(el("p", "Every endpoint of an address family is down: answering them as if they were up (fail open).", "open"));
    const t = el("table");
    t.dataset.name = b.name;
    t.appendChild(el("thead")).appendChild(row(["endpoint", "data center", "priority", "weight", "state", "since", "last check", "load", ""]));
    const tb = t.appendChild(el("tbody"));
    for (const e of b.endpoints) {
      const since = el("span", e.since_seconds === undefined ? "" : ago(e.since_seconds) + " ago");
      if (e.since) since.title = utc(e.since);
      const base = "/v1/endpoints/" + encodeURIComponent(e.address) + "/";
      const btn = e.state === "drained"
        ? button("undrain", base + "undrain", "undrain endpoint " + e.address, "undrain-endpoint")
        : button("drain", base + "drain", "drain endpoint " + e.address, "drain-endpoint");
      const r = row([el("code", e.address), e.datacenter, e.priority, e.weight,
        el("span", e.state, "state state-" + e.state),
        since,
        e.last_check ? (e.last_check.ok ? "ok: " : "failed: ") + e.last_check.result + " (" + e.last_check.latency_ms + " ms)" : (e.check ? "" : "no check"),
        e.load === null || e.load === undefined ? "" : e.load, btn]);
      r.dataset.endpoint = e.address;
      r.dataset.state = e.state;
      if (e.state !== "up") r.className = e.state === "down" ? "alert" : "warn";
      tb.appendChild(r);
    }
    sec.appendChild(t);
    bal.appendChild(sec);
  }
  const tr = document.querySelector("#transitions tbody");
  tr.replaceChildren(...st.transitions.slice(0, 50).map(t => row([utc(t.at), el("code", t.endpoint ?? ""), t.datacenter ?? "", t.from + " → " + t.to,
    t.reason + (t.endpoint ? (t.names > 1 ? " (used by " + t.names + " names)" : "") : " (" + plural(t.names, "name") + " affected)")])));
  document.body.dataset.drawn = String(st.health_generation);
}
// The NS set ([cluster]): the store's state and the live members; hidden on a single server.
function drawCluster(c) {
  const box = document.getElementById("cluster");
  if (!c) { box.hidden = true; return; }
  box.hidden = false;
  const st = document.getElementById("cluster-store");
  st.dataset.state = c.store.state;
  st.className = "meta " + (c.store.state === "up" ? "" : "alert");
  st.textContent = "instance " + c.instance + " · etcd " + c.store.state + " since " + utc(c.store.since) +
    (c.store.reason && c.store.state !== "up" ? " (" + c.store.reason + ")" : "") +
    " · down_quorum " + c.down_quorum + " · on_store_loss " + c.on_store_loss +
    (c.config_mismatch ? " · configuration differs between members!" : "");
  const tb = document.querySelector("#members tbody");
  tb.replaceChildren(...c.members.map(m => {
    const r = row([m.instance + (m.self ? " (this one)" : ""), m.version, m.listen.join(" "), el("code", m.config_hash),
      utc(m.started), m.lease_age_seconds === null || m.lease_age_seconds === undefined ? "" : m.lease_age_seconds + "s ago"]);
    r.dataset.instance = m.instance;
    if (m.config_hash !== c.config_hash) r.className = "warn";
    return r;
  }));
}
async function refresh() {
  try {
    const r = await fetch("/v1/status", { cache: "no-store" });
    if (!r.ok) throw new Error("status " + r.status);
    const c = await fetch("/v1/cluster", { cache: "no-store" });
    drawCluster(c.ok ? await c.json() : null);
    draw(await r.json());
    document.getElementById("error").textContent = "";
  } catch (e) {
    document.getElementById("error").textContent = "cannot reach the server: " + e.message;
    const ban = document.getElementById("banner");
    ban.className = "bad";
    ban.dataset.state = "unreachable";
    ban.textContent = "Cannot reach the server (" + e.message + "): what is below may be stale.";
  }
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
"##;
