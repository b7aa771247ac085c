// get_dashboard's MCP App in a host built on the official SDK (mcp_app_host.html + .js, whose
// AppBridge drives the app in a sandboxed iframe), in headless Chromium.
//
//   node tests/acceptance/mcp_app_host.mjs BASE_URL ADMIN_KEY SCREENSHOT.png
//   node tests/acceptance/mcp_app_host.mjs --fixture SCREENSHOT.png
//
// Against a server: as a host does, it lists the tools and finds get_dashboard's UI resource in
// _meta.ui.resourceUri, reads the resource (MIME text/html;profile=mcp-app, _meta.ui on its
// contents, one document that loads nothing) and calls get_dashboard, all with the official
// TypeScript SDK's client over <base>/mcp (Authorization: Bearer). The host page renders the
// app with the resource's CSP and hands it the call's input and result; the app's DOM must show
// the same figures as the result. Then it clicks the app's Refresh button: the app's tools/call
// (App.callServerTool) reaches the host, which forwards it to the server through this script,
// and the app must show the new result's figures. --fixture does the same without a server: the
// app is the template inlined here as the server does it, the result is
// tests/acceptance/fixtures/dashboard.json, and the refresh answers a changed copy of it.
// Needs Chromium and DASHBOARD_NODE_MODULES (source tests/acceptance/node_tools.sh): the host
// page is bundled at test time from @modelcontextprotocol/ext-apps with esbuild.
// Saves SCREENSHOT.png after the refresh; prints one line per check and "N passed, M failed".

import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { launch } from "./browser.mjs";
import { APP_MIME, APP_URI, FIXTURE, READ_DOM, REPO, check, compare, dashboardModules, finish, getDashboard, inlineTemplate, mcpConnect, tally } from "./dashboard_common.mjs";

const argv = process.argv.slice(2);
const fixtureMode = argv[0] === "--fixture";
const [base, key, shot] = fixtureMode ? [null, null, argv[1]] : argv;
if (!shot || (!fixtureMode && (!base || !key))) {
  console.error("usage: mcp_app_host.mjs BASE_URL ADMIN_KEY SCREENSHOT.png | --fixture SCREENSHOT.png");
  process.exit(2);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const HERE = join(REPO, "tests", "acceptance");

async function bundleHost() {
  const modules = dashboardModules();
  const esbuild = await import(pathToFileURL(join(modules, "esbuild", "lib", "main.js")).href);
  const out = await (esbuild.default || esbuild).build({
    entryPoints: [join(HERE, "mcp_app_host.js")],
    bundle: true,
    write: false,
    format: "iife",
    platform: "browser",
    target: "es2020",
    nodePaths: [modules],
    logLevel: "warning",
  });
  return out.outputFiles[0].text;
}

/** A resource's HTML must be whole: no placeholder left, nothing loaded from anywhere. */
function selfContained(html) {
  const problems = [];
  if (html.includes("<!--INLINE:")) problems.push("an INLINE placeholder is left");
  if (/<script[^>]+\bsrc\s*=/i.test(html)) problems.push("a <script src>");
  if (/<link[^>]+\bhref\s*=/i.test(html)) problems.push("a <link href>");
  if (/<(img|iframe)[^>]+\bsrc\s*=\s*["']?https?:/i.test(html)) problems.push("an external <img>/<iframe>");
  return problems;
}

async function fromServer(client) {
  const { tools } = await client.listTools();
  const tool = tools.find((t) => t.name === "get_dashboard");
  check("tools/list has get_dashboard", !!tool);
  const meta = (tool && tool._meta) || {};
  check("get_dashboard's _meta.ui.resourceUri names the app", meta.ui && meta.ui.resourceUri === APP_URI, meta);
  check("get_dashboard also carries the older _meta[\"ui/resourceUri\"] (as the SDK's registerAppTool sets it)", meta["ui/resourceUri"] === APP_URI, meta);
  const visibility = meta.ui && meta.ui.visibility;
  check("get_dashboard is callable by the app (visibility absent or with \"app\")", !visibility || visibility.includes("app"), visibility);

  const { resources } = await client.listResources();
  const listed = resources.find((r) => r.uri === APP_URI);
  check("resources/list has the app resource with MIME text/html;profile=mcp-app", !!listed && listed.mimeType === APP_MIME, listed);

  const read = await client.readResource({ uri: APP_URI });
  const content = (read.contents || [])[0] || {};
  check("resources/read gives one text content, MIME text/html;profile=mcp-app", read.contents.length === 1 && content.mimeType === APP_MIME && typeof content.text === "string", { n: read.contents.length, mime: content.mimeType });
  const ui = content._meta && content._meta.ui;
  check("the content's _meta.ui carries a csp object (McpUiResourceMeta)", !!ui && typeof ui.csp === "object", content._meta);
  const problems = selfContained(content.text || "");
  check("the resource is one document that loads nothing", problems.length === 0, problems.join(", "));

  const input = {};
  const result = await getDashboard(client, input);
  check("get_dashboard answers with structuredContent", !result.isError && !!result.structuredContent, result.content);
  return { html: content.text || "", meta: content._meta || {}, input, result };
}

function fromFixture() {
  const fixture = JSON.parse(readFileSync(FIXTURE, "utf8"));
  const html = inlineTemplate();
  const problems = selfContained(html);
  check("the inlined template is one document that loads nothing", problems.length === 0, problems.join(", "));
  return {
    html,
    meta: { ui: { csp: { connectDomains: [], resourceDomains: [] }, prefersBorder: true } },
    input: { from: fixture.from, to: fixture.to, granularity: fixture.granularity },
    result: { content: [{ type: "text", text: "Billing dashboard (fixture)." }], structuredContent: fixture },
  };
}

/** What the fixture's "server" answers to the app's refresh: the same period, a little later. */
function refreshedFixture(args) {
  const data = JSON.parse(readFileSync(FIXTURE, "utf8"));
  data.as_of = "2026-12-31T23:30:00Z";
  data.delivery.meter_events_pending = 0;
  data.customers.new += 1;
  data.customers.total += 1;
  data.customers.trialing += 1;
  return { content: [{ type: "text", text: `Billing dashboard (fixture, refreshed with ${JSON.stringify(args)}).` }], structuredContent: data };
}

function serve(files, onCall) {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, "http://127.0.0.1");
    if (req.method === "POST" && url.pathname === "/call") {
      let body = "";
      for await (const chunk of req) body += chunk;
      try {
        const answer = await onCall(JSON.parse(body));
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify(answer));
      } catch (e) {
        res.writeHead(502, { "Content-Type": "text/plain" });
        res.end(String(e && e.message ? e.message : e));
      }
      return;
    }
    const f = files[url.pathname];
    if (!f) {
      res.writeHead(404, { "Content-Type": "text/plain" });
      res.end("not found");
      return;
    }
    res.writeHead(200, { "Content-Type": f[0], "Cache-Control": "no-store" });
    res.end(f[1]);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ base: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) })));
}

/** Waits for the app frame's execution context and for `expression` to be truthy in it. */
async function inApp(page, expression, what, timeout = 30000) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    const ctx = page.frameContext();
    if (ctx) {
      try {
        last = await page.eval(expression, ctx);
        if (last) return { value: last, ctx };
      } catch (e) {
        last = e.message;
      }
    }
    if (Date.now() > end) throw new Error(`timed out waiting in the app for ${what} (last: ${JSON.stringify(last)})`);
    await sleep(100);
  }
}

async function main() {
  const hostJs = await bundleHost();
  check("the host page bundles the SDK's AppBridge (esbuild)", hostJs.includes("ui/initialize"));

  let client = null;
  let app;
  if (fixtureMode) {
    app = fromFixture();
  } else {
    client = await mcpConnect(base, key);
    app = await fromServer(client);
  }
  const calls = [];
  const answers = [];
  const onCall = async (params) => {
    calls.push(params);
    const answer = fixtureMode ? refreshedFixture(params.arguments) : await client.callTool({ name: params.name, arguments: params.arguments || {} });
    answers.push(answer);
    return answer;
  };

  const server = await serve(
    {
      "/host.html": ["text/html; charset=utf-8", readFileSync(join(HERE, "mcp_app_host.html"))],
      "/host.js": ["text/javascript; charset=utf-8", hostJs],
      "/app.html": ["text/html; charset=utf-8", app.html],
      "/resource-meta.json": ["application/json", JSON.stringify(app.meta)],
      "/tool-input.json": ["application/json", JSON.stringify(app.input)],
      "/tool-result.json": ["application/json", JSON.stringify(app.result)],
    },
    onCall,
  );

  const browser = await launch({ width: 1280, height: 900 });
  try {
    const page = await browser.newPage();
    await page.goto(`${server.base}/host.html`);
    await page.eval("startHost()");

    const first = await inApp(page, "(() => { const r = document.getElementById('dashboard'); const s = r && r.getAttribute('data-state'); return s === 'loading' ? '' : s; })()", "the first render");
    check("the app rendered the tool result", first.value === "ready", first.value === "ready" ? "" : await page.eval("document.getElementById('error').textContent", first.ctx));
    const host = await page.eval("JSON.parse(JSON.stringify(hostState))");
    check("the app made the ui/initialize handshake with the SDK's App", host.initialized && host.appInfo && host.appInfo.name === "billing-mcp dashboard", host.appInfo);
    const sized = await page.waitFor("hostState.sizes.length > 0 && hostState.sizes[hostState.sizes.length - 1] > 600 && hostState.sizes", { timeout: 10000, what: "the app's size" }).catch(() => null);
    check("the app reported its rendered size to the host (autoResize)", !!sized, host.sizes);
    let dom = await page.eval(READ_DOM, first.ctx);
    compare("app, first result", dom, app.result.structuredContent);

    // Refresh, clicked as a person would: the button's box inside the iframe, offset by the iframe's.
    const inner = await page.eval("(() => { const r = document.getElementById('refresh').getBoundingClientRect(); return { x: r.x, y: r.y, width: r.width, height: r.height, disabled: document.getElementById('refresh').disabled }; })()", first.ctx);
    const frame = await page.eval("(() => { const f = document.querySelector('iframe'); f.scrollIntoView({ block: 'start' }); const r = f.getBoundingClientRect(); return { x: r.x, y: r.y }; })()");
    check("the Refresh button is enabled once connected", !inner.disabled);
    await page.click({ x: frame.x + inner.x, y: frame.y + inner.y, width: inner.width, height: inner.height });
    const second = await inApp(page, "document.getElementById('dashboard').getAttribute('data-refreshes') === '1' && document.getElementById('dashboard').getAttribute('data-state')", "the refreshed render");
    check("Refresh made exactly one tools/call get_dashboard through the host, with the tool's input", calls.length === 1 && calls[0].name === "get_dashboard" && JSON.stringify(calls[0].arguments || {}) === JSON.stringify(app.input), calls);
    const hostCalls = await page.eval("hostState.calls.length");
    check("the host's AppBridge received it (oncalltool)", hostCalls === 1, hostCalls);
    check("the app rendered the refreshed result", second.value === "ready", second.value);
    if (answers[0] && answers[0].structuredContent) {
      dom = await page.eval(READ_DOM, second.ctx);
      compare("app, after Refresh", dom, answers[0].structuredContent);
    } else {
      check("the refresh's result has structuredContent", false, answers[0]);
    }

    await sleep(300);
    const size = await page.screenshot(shot);
    console.log(`     screenshot ${shot} (${size.width}x${size.height})`);

    // zod (inside the SDK bundle) probes `new Function` once to pick its fast path; under the
    // host's CSP without 'unsafe-eval' Chromium reports that probe, which zod catches.
    check("no CSP report, console error or exception in host or app", page.problems.length === 0, page.problems.slice(0, 5).join(" | "));
    // And that policy was in force: the app rendered with no network and no eval.
    const sandbox = await page.eval(`(async () => {
      let evalOk = false, fetchOk = false;
      try { evalOk = new Function("return true")(); } catch (e) {}
      try { await fetch("${server.base}/host.html"); fetchOk = true; } catch (e) {}
      return { evalOk, fetchOk, origin: String(self.origin) };
    })()`, second.ctx, { allowUnsafeEvalBlockedByCSP: false });
    check("the app ran under the host's CSP and sandbox (no eval, no fetch, opaque origin)", !sandbox.evalOk && !sandbox.fetchOk && sandbox.origin === "null", sandbox);
    page.problems.length = 0;
  } finally {
    await browser.close();
    await server.close();
    if (client) await client.close().catch(() => {});
  }
}

main()
  .catch((e) => {
    check("the run finished", false, e.stack || String(e));
  })
  .finally(() => {
    if (tally.passed + tally.failed === 0) check("anything was checked", false);
    finish();
  });
