//! `GET /`: the status page for people. One self-contained HTML document (no build step, no
//! external assets) that reads `/v1/status` every two seconds and draws it with DOM calls
//! (`textContent`, never `innerHTML`, so names from the config cannot inject markup).

/// The page.
pub(crate) const INDEX: &str = r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>gslb status</title>
<style>
  :root { --up: #1a7f37; --down: #cf222e; --drained: #9a6700; --muted: #57606a; }
  body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5rem; color: #1f2328; }
  h1 { font-size: 1.4rem; margin: 0 0 .25rem; }
  h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
  .meta { color: var(--muted); margin-bottom: 1rem; }
  table { border-collapse: collapse; margin-bottom: 1rem; min-width: 40rem; }
  th, td { text-align: left; padding: .3rem .7rem; border-bottom: 1px solid #d0d7de; vertical-align: top; }
  th { background: #f6f8fa; font-weight: 600; }
  .state { font-weight: 600; text-transform: uppercase; font-size: .8rem; }
  .state-up { color: var(--up); } .state-down { color: var(--down); } .state-drained { color: var(--drained); }
  .open { color: var(--down); font-weight: 600; }
  code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; }
  #error { color: var(--down); font-weight: 600; }
</style>
</head>
<body>
<h1>gslb</h1>
<div class="meta"><span id="summary">loading…</span> <span id="error"></span></div>
<h2>Data centers</h2>
<table id="datacenters"><thead><tr><th>data center</th><th>endpoints</th><th>up</th><th>drained</th><th>networks</th></tr></thead><tbody></tbody></table>
<h2>Balanced names</h2>
<div id="balanced"></div>
<h2>Recent changes</h2>
<table id="transitions"><thead><tr><th>time</th><th>endpoint</th><th>data center</th><th>change</th><th>reason</th></tr></thead><tbody></tbody></table>
<script>
"use strict";
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
function ago(s) {
  if (s < 60) return s + "s";
  if (s < 3600) return Math.floor(s / 60) + "m " + (s % 60) + "s";
  if (s < 86400) return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
  return Math.floor(s / 86400) + "d";
}
function draw(st) {
  document.getElementById("summary").textContent =
    st.balanced.length + " balanced names, " + st.zones.length + " zones · config generation " +
    st.config_generation + (st.last_reload_ok ? "" : " (last reload rejected)") +
    " · health generation " + st.health_generation + " · updated " + new Date().toLocaleTimeString();
  const dc = document.querySelector("#datacenters tbody");
  dc.replaceChildren(...st.datacenters.map(d => row([d.name, d.endpoints, d.up, d.drained, d.networks.join(", ")])));
  const bal = document.getElementById("balanced");
  bal.replaceChildren();
  for (const b of st.balanced) {
    const h = el("h3", b.name + " · " + b.policy + " · ttl " + b.ttl + " · " + b.endpoints_up + "/" + b.endpoints.length + " up");
    h.dataset.name = b.name;
    bal.appendChild(h);
    if (b.failing_open) bal.appendChild(el("p", "Every endpoint of an address family is down: answering them as if they were up (fail open).", "open"));
    const t = el("table");
    t.dataset.name = b.name;
    t.appendChild(el("thead")).appendChild(row(["endpoint", "data center", "priority", "weight", "state", "since", "last check", "load"]));
    const tb = t.appendChild(el("tbody"));
    for (const e of b.endpoints) {
      const r = row([el("code", e.address), e.datacenter, e.priority, e.weight,
        el("span", e.state, "state state-" + e.state),
        e.since_seconds === undefined ? "" : ago(e.since_seconds) + " ago",
        e.last_check ? (e.last_check.ok ? "ok: " : "failed: ") + e.last_check.result + " (" + e.last_check.latency_ms + " ms)" : (e.check ? "" : "no check"),
        e.load === null || e.load === undefined ? "" : e.load]);
      r.dataset.endpoint = e.address;
      r.dataset.state = e.state;
      tb.appendChild(r);
    }
    bal.appendChild(t);
  }
  const tr = document.querySelector("#transitions tbody");
  tr.replaceChildren(...st.transitions.slice(0, 50).map(t => row([t.at, el("code", t.endpoint ?? ""), t.datacenter ?? "", t.from + " → " + t.to, t.reason + (t.endpoints === 1 ? "" : " (" + t.endpoints + " endpoints in " + t.names + " names)")])));
}
async function refresh() {
  try {
    const r = await fetch("/v1/status", { cache: "no-store" });
    if (!r.ok) throw new Error("status " + r.status);
    draw(await r.json());
    document.getElementById("error").textContent = "";
  } catch (e) {
    document.getElementById("error").textContent = "cannot reach the server: " + e.message;
  }
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
"##;
