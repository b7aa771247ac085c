// What the dashboard's browser checks share: the figures a get_dashboard result must show (worked
// out here from the JSON, independently of render.js, by the attribute scheme documented at the
// top of src/mcp/ui/render.js), the DOM read-out, the comparison, the checks'
// tally, the MCP client (the official TypeScript SDK), the MCP App template's inlining (what the
// server does at startup) and a fixture server for the web page.

import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, join, normalize } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const FIXTURE = join(REPO, "tests", "acceptance", "fixtures", "dashboard.json");
export const PAGE_DIR = join(REPO, "src", "transport", "dashboard");
/** render.js, dashboard.css and the vendored libraries, shared by the page and the MCP App. */
export const SHARED_DIR = join(REPO, "src", "mcp", "ui");
export const APP_TEMPLATE = join(REPO, "src", "mcp", "ui", "dashboard.html");
export const APP_URI = "ui://billing-mcp/dashboard";
export const APP_MIME = "text/html;profile=mcp-app";
// The web page's policy, as the server is to send it (the fixture server sends the same).
export const PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

// ---- checks -----------------------------------------------------------------------------------

export const tally = { passed: 0, failed: 0 };

export function check(name, ok, detail = "") {
  tally[ok ? "passed" : "failed"] += 1;
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${ok || detail === "" ? "" : ": " + (typeof detail === "string" ? detail : JSON.stringify(detail))}`);
  return ok;
}

export function finish() {
  console.log(`${tally.passed} passed, ${tally.failed} failed`);
  process.exit(tally.failed ? 1 : 0);
}

// ---- expected figures ------------------------------------------------------------------------

const DASH = "\u2014";

function group(n) {
  const m = /^(-?)(\d+)(\.\d+)?$/.exec(String(n));
  if (!m) return String(n);
  return m[1] + m[2].replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (m[3] || "");
}

function time(iso) {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]00:?00)$/.exec(String(iso));
  if (!m) return String(iso);
  if (m[2] === "00" && m[3] === "00" && (m[4] === undefined || m[4] === "00")) return m[1];
  return `${m[1]} ${m[2]}:${m[3]} UTC`;
}

const isNull = (v) => v === null || v === undefined;
const money = (m) => (isNull(m) ? { text: DASH } : { text: m.display, amount: String(m.amount) });
const int = (n) => (isNull(n) ? { text: DASH } : { text: group(n), value: String(n) });
const when = (s) => (isNull(s) ? { text: DASH } : { text: time(s), value: String(s) });
const str = (s) => (isNull(s) ? { text: DASH } : { text: String(s) });
const bool = (b) => (isNull(b) ? { text: DASH } : { text: b ? "yes" : "no", value: String(!!b) });

/** Map of data-figure key -> { text, value?, amount? } that `data` must show. */
export function expectedFigures(data) {
  const f = new Map();
  const put = (k, v) => {
    if (f.has(k)) throw new Error(`the JSON gives two figures the key ${k}`);
    f.set(k, v);
  };
  put("period.from", when(data.from));
  put("period.to", when(data.to));
  put("period.as_of", when(data.as_of));
  put("period.granularity", str(data.granularity));
  for (const c of data.currencies || []) {
    const cur = String(c.currency).toLowerCase();
    put(`${cur}.mrr`, money(c.mrr));
    put(`${cur}.arr`, money(c.arr));
    put(`${cur}.arpu`, money(c.arpu));
    put(`${cur}.paying_customers`, int(c.paying_customers));
    for (const k of ["total", "base", "prorations", "usage"]) put(`${cur}.upcoming.${k}`, money(c.upcoming?.[k]));
    put(`${cur}.upcoming.invoices`, int(c.upcoming?.invoices));
    put(`${cur}.billed.total`, money(c.billed?.total));
    put(`${cur}.billed.invoices`, int(c.billed?.invoices));
    put(`${cur}.credit_packs_sold.total`, money(c.credit_packs_sold?.total));
    put(`${cur}.credit_packs_sold.packs`, int(c.credit_packs_sold?.packs));
    for (const k of ["new", "expansion", "contraction", "churn", "reactivation", "net"]) put(`${cur}.movements.${k}`, money(c.mrr_movements?.[k]));
  }
  for (const k of ["total", "active", "trialing", "delinquent", "churned", "new"]) put(`customers.${k}`, int(data.customers?.[k]));
  for (const k of ["sold", "granted", "burned", "expired", "outstanding"]) put(`credits.${k}`, int(data.credits?.[k]));
  for (const k of ["meter_events_pending", "meter_events_failed", "webhooks_failed"]) put(`delivery.${k}`, int(data.delivery?.[k]));
  for (const u of data.usage || []) {
    put(`usage.${u.meter}.quantity`, int(u.quantity));
    put(`usage.${u.meter}.events`, int(u.events));
    put(`usage.${u.meter}.aggregation`, str(u.aggregation));
  }
  for (const t of data.top_tools || []) {
    put(`top_tools.${t.meter}.${t.tool}.quantity`, int(t.quantity));
    put(`top_tools.${t.meter}.${t.tool}.events`, int(t.events));
  }
  for (const r of data.reserved || []) {
    put(`reserved.${r.customer}.${r.meter}.reserved`, int(r.reserved));
    put(`reserved.${r.customer}.${r.meter}.used`, int(r.used));
  }
  put("accounts.total", int(data.accounts_total));
  put("accounts.shown", int((data.accounts || []).length));
  for (const a of data.accounts || []) {
    const k = `account.${a.customer}`;
    put(`${k}.customer`, str(a.customer));
    put(`${k}.plan`, str(a.plan));
    put(`${k}.status`, str(a.status));
    put(`${k}.delinquent`, bool(a.delinquent));
    put(`${k}.events`, int(a.events));
    put(`${k}.next_invoice`, money(a.next_invoice));
    put(`${k}.period_end`, when(a.period_end));
  }
  const b = data.stripe_balance;
  if (b) {
    for (const m of b.available || []) put(`stripe_balance.available.${String(m.currency).toLowerCase()}`, money(m));
    for (const m of b.pending || []) put(`stripe_balance.pending.${String(m.currency).toLowerCase()}`, money(m));
    put("stripe_balance.as_of", when(b.as_of));
  }
  return f;
}

/** Map of data-chart key -> number of points it must plot. */
export function expectedCharts(data) {
  const c = new Map();
  for (const b of data.currencies || []) {
    const cur = String(b.currency).toLowerCase();
    c.set(`${cur}.mrr`, (b.series || []).length);
    c.set(`${cur}.movements`, (b.series || []).length);
  }
  for (const u of data.usage || []) c.set(`usage.${u.meter}`, (u.series || []).length);
  if ((data.top_tools || []).length) c.set("top_tools", data.top_tools.length);
  return c;
}

/** An expression that reads every figure and chart under #dashboard (evaluated in the page or the app frame). */
export const READ_DOM = `(() => {
  const root = document.getElementById("dashboard");
  const figures = {}, duplicates = [], charts = {};
  for (const e of root.querySelectorAll("[data-figure]")) {
    const k = e.getAttribute("data-figure");
    if (k in figures) duplicates.push(k);
    figures[k] = { text: e.textContent, value: e.getAttribute("data-value"), amount: e.getAttribute("data-amount") };
  }
  for (const c of root.querySelectorAll("[data-chart]"))
    charts[c.getAttribute("data-chart")] = { points: Number(c.getAttribute("data-points")), canvas: !!c.querySelector("canvas") };
  const accounts = [...root.querySelectorAll("tr[data-account]")].map((r) => r.getAttribute("data-account"));
  return { figures, duplicates, charts, accounts, rendered: root.getAttribute("data-rendered"),
           strayMarkup: root.querySelectorAll("script, img, iframe, object, embed, [onerror], [onclick], [onload]").length };
})()`;

/** Checks the read-out of the DOM against `data`: every figure, no extra one, every chart. */
export function compare(label, dom, data, { ignore = [] } = {}) {
  const want = expectedFigures(data);
  const skip = new Set(ignore);
  let good = 0;
  const bad = [];
  for (const [k, w] of want) {
    if (skip.has(k)) continue;
    const got = dom.figures[k];
    if (!got) {
      bad.push(`${k}: missing (want ${JSON.stringify(w.text)})`);
      continue;
    }
    const errs = [];
    if (got.text !== w.text) errs.push(`text ${JSON.stringify(got.text)} != ${JSON.stringify(w.text)}`);
    if (w.value !== undefined && got.value !== w.value) errs.push(`data-value ${JSON.stringify(got.value)} != ${JSON.stringify(w.value)}`);
    if (w.amount !== undefined && got.amount !== w.amount) errs.push(`data-amount ${JSON.stringify(got.amount)} != ${JSON.stringify(w.amount)}`);
    if (errs.length) bad.push(`${k}: ${errs.join(", ")}`);
    else good += 1;
  }
  const extra = Object.keys(dom.figures).filter((k) => !want.has(k));
  // Each figure counts as one check; one line tells them all.
  tally.passed += good;
  tally.failed += bad.length;
  const what = `${label}: ${good} of ${want.size - skip.size} figures equal the JSON${skip.size ? ` (not compared: ${[...skip].join(", ")})` : ""}`;
  console.log(`${bad.length ? "FAIL" : "ok  "} ${what}${bad.length ? ": " + bad.slice(0, 20).join("; ") : ""}`);
  check(`${label}: no figure that the result does not have, none twice`, extra.length === 0 && dom.duplicates.length === 0, { extra, duplicates: dom.duplicates });
  const charts = expectedCharts(data);
  const chartErrs = [];
  for (const [k, n] of charts) {
    const c = dom.charts[k];
    if (!c) chartErrs.push(`${k}: missing`);
    else if (c.points !== n) chartErrs.push(`${k}: ${c.points} points, want ${n}`);
    else if (n > 0 && !c.canvas) chartErrs.push(`${k}: not drawn`);
  }
  check(`${label}: ${charts.size} charts drawn with the series' points`, chartErrs.length === 0, chartErrs.join("; "));
  const wantAccounts = (data.accounts || []).map((a) => a.customer);
  check(`${label}: the accounts table has one row per account, in order`, JSON.stringify(dom.accounts) === JSON.stringify(wantAccounts), { got: dom.accounts, want: wantAccounts });
  check(`${label}: untrusted text stayed text (no element made from the data)`, dom.strayMarkup === 0, dom.strayMarkup);
  if (skip.has("period.as_of")) check(`${label}: the root is marked rendered`, !!dom.rendered, dom.rendered);
  else check(`${label}: the root is marked rendered for this as_of`, dom.rendered === String(data.as_of), dom.rendered);
}

// ---- the MCP client (official TypeScript SDK 2.x) ----------------------------------------------

export function dashboardModules() {
  const dir = process.env.DASHBOARD_NODE_MODULES;
  if (!dir) throw new Error("DASHBOARD_NODE_MODULES is not set: source tests/acceptance/node_tools.sh first");
  return dir;
}

export async function mcpConnect(base, key) {
  const mod = await import(pathToFileURL(join(dashboardModules(), "@modelcontextprotocol", "client", "dist", "index.mjs")).href);
  const transport = new mod.StreamableHTTPClientTransport(new URL("/mcp", base), {
    requestInit: { headers: { Authorization: `Bearer ${key}` } },
  });
  const client = new mod.Client(
    { name: "billing-mcp dashboard acceptance", version: "1.0.0" },
    // What an MCP Apps host advertises (io.modelcontextprotocol/ui, SEP-1865).
    { capabilities: { extensions: { "io.modelcontextprotocol/ui": { mimeTypes: [APP_MIME] } } } },
  );
  await client.connect(transport);
  return client;
}

/** get_dashboard's result; throws on a protocol error, returns isError results as they are. */
export async function getDashboard(client, args) {
  return client.callTool({ name: "get_dashboard", arguments: args });
}

// ---- the MCP App template, inlined as the server does ------------------------------------------

/** Replaces each <!--INLINE:path--> (a path under src/) with that file's contents. */
export function inlineTemplate(template = readFileSync(APP_TEMPLATE, "utf8")) {
  return template.replace(/<!--INLINE:([A-Za-z0-9_./-]+)-->/g, (_, path) => {
    const body = readFileSync(join(REPO, "src", path), "utf8");
    if (/<\/(script|style)/i.test(body)) throw new Error(`${path} contains a closing tag and cannot be inlined`);
    return body;
  });
}

// ---- the web page's fixture server -------------------------------------------------------------

const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".json": "application/json" };

/** Serves /dashboard, its assets and /dashboard/data.json (the fixture) like the real server, CSP included, without login. */
export function fixtureServer(fixture) {
  const queries = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://127.0.0.1");
    const send = (status, type, body) => {
      res.writeHead(status, { "Content-Type": type, "Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff" });
      res.end(body);
    };
    if (url.pathname === "/dashboard/data.json") {
      queries.push(Object.fromEntries(url.searchParams));
      return send(200, TYPES[".json"], JSON.stringify(fixture));
    }
    const file = url.pathname === "/dashboard" ? "index.html" : url.pathname === "/dashboard/login" ? "login.html" : url.pathname.replace(/^\/dashboard\//, "");
    if (!url.pathname.startsWith("/dashboard") || !/^[A-Za-z0-9_./-]+$/.test(file) || normalize(file).startsWith("..") || file.includes(".."))
      return send(404, "text/plain", "not found");
    let body;
    for (const dir of [PAGE_DIR, SHARED_DIR]) {
      try {
        body = readFileSync(join(dir, file));
        break;
      } catch {}
    }
    if (body === undefined || file === "dashboard.html" || file.endsWith(".LICENSE") || file.endsWith(".md"))
      return send(404, "text/plain", "not found");
    const ext = file.slice(file.lastIndexOf("."));
    send(200, TYPES[ext] || "application/octet-stream", body);
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve({ base: `http://127.0.0.1:${server.address().port}`, queries, close: () => new Promise((r) => server.close(r)) })),
  );
}
