// The /dashboard web page in headless Chromium, compared figure by figure with get_dashboard.
//
//   node tests/acceptance/dashboard_page.mjs BASE_URL ADMIN_KEY SCREENSHOT.png
//   node tests/acceptance/dashboard_page.mjs --fixture SCREENSHOT.png
//
// Against a server (BASE_URL like http://127.0.0.1:8080): without the session cookie neither
// /dashboard nor /dashboard/data.json shows data, and a wrong key is refused; then it signs in
// through the login form as a person would (types the key, clicks the button), waits for the
// dashboard, reads every data-figure and chart from the DOM and compares them with get_dashboard
// called over MCP (<base>/mcp, Authorization: Bearer) for the period the page shows; then picks
// "Last 12 months" and compares again. No CSP report, console error or exception may appear.
// --fixture serves the page's files and tests/acceptance/fixtures/dashboard.json itself (same
// CSP, no login) and compares with the fixture. Needs Chromium (apt-get install chromium) and,
// against a server, DASHBOARD_NODE_MODULES (source tests/acceptance/node_tools.sh).
// Saves SCREENSHOT.png (the dashboard, 1280 px wide) and SCREENSHOT-login.png; prints one line
// per check and "N passed, M failed"; exits 1 on any failure.

import { readFileSync } from "node:fs";
import { launch } from "./browser.mjs";
import { FIXTURE, PAGE_CSP, READ_DOM, check, compare, fixtureServer, finish, getDashboard, mcpConnect, tally } from "./dashboard_common.mjs";

const argv = process.argv.slice(2);
const fixtureMode = argv[0] === "--fixture";
const [base, key, shot] = fixtureMode ? [null, null, argv[1]] : argv;
if (!shot || (!fixtureMode && (!base || !key))) {
  console.error("usage: dashboard_page.mjs BASE_URL ADMIN_KEY SCREENSHOT.png | --fixture SCREENSHOT.png");
  process.exit(2);
}
const loginShot = shot.replace(/(\.png)?$/i, "-login.png");

function cspIsStrict(header) {
  const script = / script-src ([^;]*)/.exec(" " + (header || ""));
  const style = / style-src ([^;]*)/.exec(" " + (header || ""));
  return !!script && !/unsafe-inline|unsafe-eval|\*/.test(script[1]) && !!style && !/unsafe-inline/.test(style[1]);
}

/** Without the cookie: no data anywhere; a wrong key does not sign in. */
async function noCookieChecks() {
  const page = await fetch(new URL("/dashboard", base), { redirect: "manual" });
  const body = await page.text();
  const location = page.headers.get("location") || "";
  const toLogin = [302, 303, 307].includes(page.status) && new URL(location, base).pathname === "/dashboard/login";
  check("without the cookie /dashboard redirects to /dashboard/login (or answers 401)", toLogin || page.status === 401, `${page.status} ${location}`);
  check("without the cookie /dashboard shows no figure", !body.includes("data-figure") && !body.includes('"currencies"'));

  const data = await fetch(new URL("/dashboard/data.json", base), { redirect: "manual" });
  const dataBody = await data.text();
  check("without the cookie /dashboard/data.json gives no data", data.status !== 200 && !dataBody.includes('"currencies"'), `${data.status} ${dataBody.slice(0, 120)}`);

  const login = await fetch(new URL("/dashboard/login", base));
  const loginBody = await login.text();
  check("/dashboard/login is a form posting `key`", login.status === 200 && /name="key"/.test(loginBody) && /method="post"/i.test(loginBody), login.status);
  check("/dashboard/login is served with a strict CSP", cspIsStrict(login.headers.get("content-security-policy")), login.headers.get("content-security-policy"));

  const wrong = await fetch(new URL("/dashboard/login", base), {
    method: "POST",
    redirect: "manual",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: new URL(base).origin },
    // Well formed, never issued (and never printed).
    body: "key=" + encodeURIComponent(`bmcp_${"0".repeat(16)}_${"0".repeat(64)}`),
  });
  const cookie = (wrong.headers.getSetCookie ? wrong.headers.getSetCookie() : []).map((c) => c.split(";")[0]).join("; ");
  let signedIn = false;
  if (cookie) {
    const after = await fetch(new URL("/dashboard/data.json", base), { redirect: "manual", headers: { Cookie: cookie } });
    signedIn = after.status === 200;
  }
  const wrongTo = wrong.headers.get("location") || "";
  check("a wrong key is refused (no session, back to the login form or 401/403)", !signedIn && ([401, 403].includes(wrong.status) || new URL(wrongTo || "/", base).pathname === "/dashboard/login"), `${wrong.status} ${wrongTo}`);
}

async function main() {
  let fixture = null;
  let server = null;
  let client = null;
  let origin = base;
  if (fixtureMode) {
    fixture = JSON.parse(readFileSync(FIXTURE, "utf8"));
    server = await fixtureServer(fixture);
    origin = server.base;
  } else {
    await noCookieChecks();
    client = await mcpConnect(base, key);
  }

  const browser = await launch({ width: 1280, height: 900 });
  try {
    const page = await browser.newPage();

    if (fixtureMode) {
      await page.goto(new URL("/dashboard/login", origin).href);
      await page.waitFor("document.readyState === 'complete' && !!document.querySelector('form input[name=key]')", { what: "the login form" });
      await page.screenshot(loginShot);
      await page.goto(new URL("/dashboard", origin).href);
    } else {
      await page.goto(new URL("/dashboard", origin).href);
      const path = await page.waitFor("location.pathname === '/dashboard/login' && document.readyState === 'complete' && location.pathname", { what: "the login page" });
      check("the browser without a cookie lands on the login form", path === "/dashboard/login", path);
      await page.screenshot(loginShot);
      await page.eval("document.getElementById('key').focus(), true");
      await page.type(key);
      await page.clickSelector("form button[type=submit]");
      await page.waitFor("location.pathname === '/dashboard' && document.readyState === 'complete'", { what: "/dashboard after signing in", timeout: 20000 });
      const visible = await page.eval("document.cookie");
      const href = await page.eval("location.href");
      check("the key is in no script-visible cookie and no URL", !visible.includes(key) && !href.includes(encodeURIComponent(key)) && !href.includes(key), { cookies: visible.length, href });
      // The cookie as the browser keeps it (its value is never printed).
      const { cookies } = await page.send("Network.getCookies", { urls: [new URL("/dashboard", base).href] });
      check("the session cookie is HttpOnly and SameSite=Strict", cookies.length > 0 && cookies.every((c) => c.httpOnly && c.sameSite === "Strict"), cookies.map((c) => ({ name: c.name, httpOnly: c.httpOnly, sameSite: c.sameSite, path: c.path, secure: c.secure })));
      const cookie = cookies.map((c) => `${c.name}=${c.value}`).join("; ");
      const dash = await fetch(new URL("/dashboard", base), { headers: { Cookie: cookie }, redirect: "manual" });
      const csp = dash.headers.get("content-security-policy");
      check("with the cookie /dashboard is served, with a strict CSP (no inline script or style)", dash.status === 200 && cspIsStrict(csp), `${dash.status} ${csp}`);
      const assets = { "/dashboard/render.js": "javascript", "/dashboard/page.js": "javascript", "/dashboard/dashboard.css": "text/css", "/dashboard/vendor/uPlot.iife.min.js": "javascript", "/dashboard/vendor/uPlot.min.css": "text/css", "/dashboard/data.json": "application/json" };
      const wrongAssets = [];
      for (const [path, type] of Object.entries(assets)) {
        const r = await fetch(new URL(path, base), { headers: { Cookie: cookie }, redirect: "manual" });
        await r.arrayBuffer();
        if (r.status !== 200 || !(r.headers.get("content-type") || "").includes(type)) wrongAssets.push(`${path}: ${r.status} ${r.headers.get("content-type")}`);
      }
      check("the page's scripts, styles and data are served with their content types", wrongAssets.length === 0, wrongAssets.join("; "));
    }

    const state = await page.waitFor("(() => { const s = document.getElementById('dashboard').getAttribute('data-state'); return s === 'loading' ? '' : s; })()", { what: "the dashboard to render" });
    check("the dashboard rendered", state === "ready", `${state}: ${await page.eval("document.getElementById('error').textContent")}`);

    // This month, by day (the page's default).
    let dom = await page.eval(READ_DOM);
    if (fixtureMode) {
      compare("this month (fixture)", dom, fixture);
      const q = server.queries[0] || {};
      const now = new Date();
      const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString().replace(".000Z", "Z");
      check("the page asked data.json for this month by day", q.from === from && q.granularity === "day" && /Z$/.test(q.to || ""), q);
    } else {
      const args = { from: dom.figures["period.from"]?.value, to: dom.figures["period.to"]?.value, granularity: dom.figures["period.granularity"]?.text };
      const result = await getDashboard(client, args);
      check("get_dashboard answers for the page's period", !result.isError && !!result.structuredContent, result.content);
      console.log(`     get_dashboard ${JSON.stringify(args)}`);
      if (result.structuredContent) compare("this month (page vs tool)", dom, result.structuredContent, { ignore: ["period.as_of", "stripe_balance.as_of"] });
    }
    const size = await page.screenshot(shot);
    console.log(`     screenshot ${shot} (${size.width}x${size.height})`);

    // Last 12 months, by month, through the picker.
    await page.eval(`(() => { const s = document.getElementById("period"); s.value = "last_12_months"; s.dispatchEvent(new Event("change", { bubbles: true })); return true; })()`);
    await page.waitFor(
      "(() => { const r = document.getElementById('dashboard'); const g = r.querySelector('[data-figure=\"period.granularity\"]'); return r.getAttribute('data-state') === 'ready' && r.getAttribute('aria-busy') === 'false' && location.search.includes('last_12_months') && !!g; })()",
      { what: "the 12-month view" },
    );
    dom = await page.eval(READ_DOM);
    if (fixtureMode) {
      const q = server.queries[server.queries.length - 1] || {};
      const now = new Date();
      const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 11, 1)).toISOString().replace(".000Z", "Z");
      const to = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString().replace(".000Z", "Z");
      check("the picker asked data.json for the last 12 months by month", q.from === from && q.to === to && q.granularity === "month", q);
      check("the URL keeps the chosen period", (await page.eval("location.search")) === "?period=last_12_months&granularity=month");
    } else {
      const args = { from: dom.figures["period.from"]?.value, to: dom.figures["period.to"]?.value, granularity: dom.figures["period.granularity"]?.text };
      check("the 12-month view shows monthly buckets", args.granularity === "month", args);
      const result = await getDashboard(client, args);
      console.log(`     get_dashboard ${JSON.stringify(args)}`);
      if (result.structuredContent) compare("last 12 months (page vs tool)", dom, result.structuredContent, { ignore: ["period.as_of", "stripe_balance.as_of"] });
      else check("get_dashboard answers for the 12-month period", false, result.content);
    }

    check("no CSP report, console error or exception in the page", page.problems.length === 0, page.problems.slice(0, 5).join(" | "));
  } finally {
    await browser.close();
    if (server) await server.close();
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
