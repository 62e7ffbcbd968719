// Drives the status page in headless Chromium over the DevTools protocol (CDP on
// --remote-debugging-pipe: NUL-terminated JSON on fds 3 and 4), with nothing but Node's standard
// library. Run by tests/it/status_page.rs; not a test on its own.
//
//   node status-page.mjs <chromium> <url> <screenshot.png> <degraded name> <endpoint to drain> [token]
//
// Loads the page at 1280x900, waits for the banner, checks from the DOM that the banner lies
// within the top 900 px and names the degraded name (linked to its section, which comes first),
// saves a screenshot, clicks the drain button of the endpoint with real mouse events (answering
// the token prompt with `token` when the page asks), waits until the page shows it drained, and
// prints one JSON line of what it saw. Any failed check exits 1 with the reason on stderr.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [chromium, url, screenshot, degraded, endpoint, token] = process.argv.slice(2);
if (!endpoint) {
  console.error("usage: node status-page.mjs <chromium> <url> <screenshot.png> <name> <endpoint> [token]");
  process.exit(2);
}
const WIDTH = 1280, HEIGHT = 900;
const profile = mkdtempSync(join(tmpdir(), "gslb-chromium-"));
const browser = spawn(chromium, [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--remote-debugging-pipe", `--user-data-dir=${profile}`, `--window-size=${WIDTH},${HEIGHT}`,
  "about:blank",
], { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"], env: { ...process.env, HOME: profile } });
let stderr = "";
browser.stderr.on("data", d => { stderr += d; });

function cleanup() {
  try { browser.kill("SIGKILL"); } catch { /* already gone */ }
  try { rmSync(profile, { recursive: true, force: true }); } catch { /* best effort */ }
}
function fail(msg) {
  console.error("status page check failed: " + msg);
  if (stderr) console.error("chromium stderr (tail):\n" + stderr.slice(-2000));
  cleanup();
  process.exit(1);
}
browser.on("error", e => fail(`cannot run ${chromium}: ${e.message}`));
browser.on("exit", (code, sig) => { if (!done) fail(`chromium exited early (${code ?? sig})`); });
const overall = setTimeout(() => fail("did not finish within 60 s"), 60000);
let done = false;

// The CDP connection.
const toBrowser = browser.stdio[3], fromBrowser = browser.stdio[4];
let nextId = 1, buf = Buffer.alloc(0);
const pending = new Map(), listeners = [];
fromBrowser.on("data", chunk => {
  buf = Buffer.concat([buf, chunk]);
  let i;
  while ((i = buf.indexOf(0)) >= 0) {
    const msg = JSON.parse(buf.subarray(0, i).toString("utf8"));
    buf = buf.subarray(i + 1);
    if (msg.id !== undefined && pending.has(msg.id)) {
      const { resolve, reject, method } = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) reject(new Error(`${method}: ${msg.error.message}`)); else resolve(msg.result);
    } else if (msg.method) {
      for (const l of listeners) l(msg);
    }
  }
});
function send(method, params = {}, sessionId) {
  const id = nextId++;
  const m = { id, method, params };
  if (sessionId) m.sessionId = sessionId;
  toBrowser.write(JSON.stringify(m) + "\0");
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject, method }));
}
const sleep = ms => new Promise(r => setTimeout(r, ms));

async function main() {
  const { targetId } = await send("Target.createTarget", { url: "about:blank" });
  const { sessionId } = await send("Target.attachToTarget", { targetId, flatten: true });
  const page = (method, params) => send(method, params, sessionId);
  let prompted = 0;
  listeners.push(msg => {
    if (msg.sessionId !== sessionId || msg.method !== "Page.javascriptDialogOpening") return;
    const p = msg.params;
    if (p.type === "prompt") prompted++;
    page("Page.handleJavaScriptDialog", p.type === "prompt"
      ? (token ? { accept: true, promptText: token } : { accept: false })
      : { accept: true }).catch(() => {});
  });
  await page("Page.enable");
  await page("Runtime.enable");
  await page("Emulation.setDeviceMetricsOverride", { width: WIDTH, height: HEIGHT, deviceScaleFactor: 1, mobile: false });
  const js = async expr => {
    const r = await page("Runtime.evaluate", { expression: expr, returnByValue: true, awaitPromise: true });
    if (r.exceptionDetails) throw new Error(`${expr}: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
    return r.result.value;
  };
  const until = async (what, expr, ms = 15000) => {
    const end = Date.now() + ms;
    let last;
    while (Date.now() < end) {
      last = await js(expr).catch(e => e.message);
      if (last && last !== false) return last;
      await sleep(100);
    }
    fail(`${what} (last seen: ${JSON.stringify(last)})`);
  };

  await page("Page.navigate", { url });
  await until("the page draws /v1/status", `document.body && document.body.dataset.drawn !== undefined`);
  const seen = await js(`(() => {
    const b = document.getElementById("banner"), r = b.getBoundingClientRect();
    const links = [...b.querySelectorAll("a")].map(a => a.getAttribute("href"));
    const sections = [...document.querySelectorAll("#balanced section")].map(s => s.id);
    return { top: r.top, bottom: r.bottom, state: b.dataset.state, text: b.textContent, links, sections,
             failingOver: b.dataset.failingOver || "", innerWidth, innerHeight };
  })()`);
  if (seen.innerWidth !== WIDTH || seen.innerHeight !== HEIGHT) fail(`viewport is ${seen.innerWidth}x${seen.innerHeight}, not ${WIDTH}x${HEIGHT}`);
  if (!(seen.top >= 0 && seen.bottom <= HEIGHT)) fail(`banner spans ${seen.top}..${seen.bottom} px, not within the top ${HEIGHT} px`);
  if (seen.state !== "degraded") fail(`banner says ${seen.state}: ${seen.text}`);
  if (!seen.text.includes(degraded)) fail(`banner does not name ${degraded}: ${seen.text}`);
  const anchor = "#name-" + degraded;
  if (!seen.links.includes(anchor)) fail(`banner has no link ${anchor}: ${JSON.stringify(seen.links)}`);
  if (seen.sections[0] !== "name-" + degraded) fail(`the degraded name is not first: ${JSON.stringify(seen.sections)}`);

  const shot = await page("Page.captureScreenshot", { format: "png" });
  writeFileSync(screenshot, Buffer.from(shot.data, "base64"));

  // Click the endpoint's drain button as a person would: scroll to it, press and release.
  const sel = `#balanced section[id="name-${degraded}"] tr[data-endpoint="${endpoint}"] button[data-action="drain-endpoint"]`;
  const box = await until(`a drain button for ${endpoint}`, `(() => {
    const b = document.querySelector(${JSON.stringify(sel)});
    if (!b) return false;
    b.scrollIntoView({ block: "center" });
    const r = b.getBoundingClientRect();
    return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
  })()`);
  for (const type of ["mouseMoved", "mousePressed", "mouseReleased"]) {
    await page("Input.dispatchMouseEvent", { type, x: box.x, y: box.y, button: "left", clickCount: 1 });
  }
  const after = await until(`the page to show ${endpoint} drained`, `(() => {
    const r = document.querySelector(${JSON.stringify(`#balanced tr[data-endpoint="${endpoint}"]`)});
    return r && r.dataset.state === "drained" ? { action: document.getElementById("action").textContent,
      banner: document.getElementById("banner").textContent } : (document.getElementById("action").textContent.includes("failed") ? document.getElementById("action").textContent : false);
  })()`);
  if (typeof after === "string") fail(`drain failed: ${after}`);
  console.log(JSON.stringify({ banner: seen, prompted, after }));
  done = true;
  clearTimeout(overall);
  await send("Browser.close").catch(() => {});
  cleanup();
}
main().catch(e => fail(e.stack || String(e)));
