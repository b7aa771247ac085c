// Headless Chromium (Debian's `chromium` package) driven over the Chrome DevTools Protocol with
// Node's built-in WebSocket: no browser download, no npm package. Used by dashboard_page.mjs and
// mcp_app_host.mjs.
//
//   const browser = await launch({ width: 1280, height: 900 });
//   const page = await browser.newPage();
//   await page.goto(url); await page.waitFor("document.readyState === 'complete'");
//   await page.eval("1 + 1"); await page.screenshot("shot.png"); await browser.close();
//
// Every console error, uncaught exception and Content-Security-Policy report of any frame is kept
// in page.problems (a test asserts it stays empty).

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

export function chromiumPath() {
  const found = [process.env.CHROMIUM, ...CANDIDATES].filter(Boolean).find((p) => existsSync(p));
  if (!found) throw new Error("no Chromium: apt-get install -y chromium (or set CHROMIUM)");
  return found;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class Cdp {
  constructor(ws) {
    this.ws = ws;
    this.next = 1;
    this.pending = new Map();
    this.listeners = [];
    ws.addEventListener("message", (ev) => {
      const msg = JSON.parse(typeof ev.data === "string" ? ev.data : Buffer.from(ev.data).toString("utf8"));
      if (msg.id !== undefined) {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message}${msg.error.data ? " " + msg.error.data : ""}`));
        else p.resolve(msg.result);
      } else {
        for (const l of [...this.listeners]) l(msg);
      }
    });
  }
  send(method, params = {}, sessionId) {
    const id = this.next++;
    const msg = { id, method, params };
    if (sessionId) msg.sessionId = sessionId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      this.ws.send(JSON.stringify(msg));
    });
  }
  on(fn) {
    this.listeners.push(fn);
    return () => (this.listeners = this.listeners.filter((l) => l !== fn));
  }
}

export async function launch({ width = 1280, height = 900 } = {}) {
  const profile = mkdtempSync(join(tmpdir(), "billing-chromium-"));
  const args = [
    "--headless=new",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-sync",
    "--disable-component-update",
    "--hide-scrollbars",
    "--mute-audio",
    "--force-color-profile=srgb",
    "--font-render-hinting=none",
    `--user-data-dir=${profile}`,
    "--remote-debugging-port=0",
    `--window-size=${width},${height}`,
  ];
  // Chromium's sandbox refuses to run as root (a container's usual user).
  if (process.getuid && process.getuid() === 0) args.push("--no-sandbox");
  args.push("about:blank");
  const proc = spawn(chromiumPath(), args, { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, TZ: "UTC" } });
  let stderr = "";
  const wsUrl = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Chromium did not start: ${stderr.slice(-2000)}`)), 30000);
    proc.stderr.on("data", (chunk) => {
      stderr += chunk.toString();
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`Chromium exited (${code}): ${stderr.slice(-2000)}`));
    });
  });
  const ws = new WebSocket(wsUrl);
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve, { once: true });
    ws.addEventListener("error", () => reject(new Error("cannot connect to Chromium's DevTools")), { once: true });
  });
  const cdp = new Cdp(ws);

  return {
    cdp,
    async newPage() {
      const { targetId } = await cdp.send("Target.createTarget", { url: "about:blank" });
      const { sessionId } = await cdp.send("Target.attachToTarget", { targetId, flatten: true });
      const page = new Page(cdp, sessionId, width, height);
      await page.init();
      return page;
    },
    async close() {
      try {
        await cdp.send("Browser.close");
      } catch {
        /* already gone */
      }
      ws.close();
      await Promise.race([new Promise((r) => proc.once("exit", r)), sleep(5000)]);
      if (proc.exitCode === null) proc.kill("SIGKILL");
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

class Page {
  constructor(cdp, sessionId, width, height) {
    this.cdp = cdp;
    this.sessionId = sessionId;
    this.width = width;
    this.height = height;
    this.problems = [];
    this.contexts = new Map(); // contextId -> { sessionId, frameId, isDefault, origin }
    this.childSessions = new Set();
    this.mainFrameId = null;
  }

  send(method, params, sessionId = this.sessionId) {
    return this.cdp.send(method, params, sessionId);
  }

  async enableSession(sessionId) {
    await this.send("Runtime.enable", {}, sessionId);
    await this.send("Log.enable", {}, sessionId);
    await this.send("Page.enable", {}, sessionId).catch(() => {});
    // Sandboxed iframes may get a process (a target) of their own: attach to those too.
    await this.send("Target.setAutoAttach", { autoAttach: true, waitForDebuggerOnStart: false, flatten: true }, sessionId);
  }

  async init() {
    this.cdp.on((msg) => {
      const mine = msg.sessionId === this.sessionId || this.childSessions.has(msg.sessionId);
      if (!mine) return;
      const p = msg.params || {};
      switch (msg.method) {
        case "Runtime.executionContextCreated":
          this.contexts.set(`${msg.sessionId}:${p.context.id}`, {
            sessionId: msg.sessionId,
            id: p.context.id,
            frameId: p.context.auxData && p.context.auxData.frameId,
            isDefault: !!(p.context.auxData && p.context.auxData.isDefault),
            origin: p.context.origin,
          });
          break;
        case "Runtime.executionContextDestroyed":
          this.contexts.delete(`${msg.sessionId}:${p.executionContextId}`);
          break;
        case "Runtime.executionContextsCleared":
          for (const [k, c] of this.contexts) if (c.sessionId === msg.sessionId) this.contexts.delete(k);
          break;
        case "Runtime.exceptionThrown":
          this.problems.push(`exception: ${p.exceptionDetails.exception?.description || p.exceptionDetails.text}`);
          break;
        case "Runtime.consoleAPICalled":
          if (p.type === "error" || p.type === "assert")
            this.problems.push(`console.${p.type}: ${p.args.map((a) => a.value ?? a.description ?? "").join(" ")}`);
          break;
        case "Log.entryAdded":
          if (p.entry.level === "error" || /Content Security Policy|Refused to/.test(p.entry.text))
            this.problems.push(`log (${p.entry.source}): ${p.entry.text}${p.entry.url ? " at " + p.entry.url : ""}`);
          break;
        case "Target.attachedToTarget":
          this.childSessions.add(p.sessionId);
          this.enableSession(p.sessionId)
            .then(() => this.send("Runtime.runIfWaitingForDebugger", {}, p.sessionId))
            .catch(() => {});
          break;
        default:
      }
    });
    await this.enableSession(this.sessionId);
    await this.send("Emulation.setDeviceMetricsOverride", { width: this.width, height: this.height, deviceScaleFactor: 1, mobile: false });
    const { frameTree } = await this.send("Page.getFrameTree");
    this.mainFrameId = frameTree.frame.id;
  }

  async goto(url) {
    const loaded = new Promise((resolve) => {
      const off = this.cdp.on((msg) => {
        if (msg.sessionId === this.sessionId && msg.method === "Page.loadEventFired") {
          off();
          resolve();
        }
      });
    });
    const r = await this.send("Page.navigate", { url });
    if (r.errorText) throw new Error(`navigate ${url}: ${r.errorText}`);
    await Promise.race([loaded, sleep(30000)]);
  }

  /** Evaluates an expression (awaiting a promise) in the top document, or in `ctx` from frameContext();
   *  `extra` adds Runtime.evaluate parameters. */
  async eval(expression, ctx, extra = {}) {
    const params = { expression, awaitPromise: true, returnByValue: true, ...extra };
    if (ctx && ctx.id !== undefined) params.contextId = ctx.id;
    const r = await this.send("Runtime.evaluate", params, ctx ? ctx.sessionId : this.sessionId);
    if (r.exceptionDetails) throw new Error(`eval: ${r.exceptionDetails.exception?.description || r.exceptionDetails.text}`);
    return r.result.value;
  }

  /** Polls `expression` until it is truthy; returns its value. */
  async waitFor(expression, { timeout = 20000, ctx, what } = {}) {
    const end = Date.now() + timeout;
    let last;
    for (;;) {
      try {
        last = await this.eval(expression, typeof ctx === "function" ? ctx() : ctx);
        if (last) return last;
      } catch (e) {
        last = e.message;
      }
      if (Date.now() > end) throw new Error(`timed out waiting for ${what || expression} (last: ${JSON.stringify(last)})`);
      await sleep(100);
    }
  }

  /** The default execution context of the first child frame (an iframe) that has one, or null. */
  frameContext() {
    for (const c of this.contexts.values()) {
      if (!c.isDefault) continue;
      if (c.sessionId !== this.sessionId) return c; // an out-of-process iframe's own target
      if (c.frameId && c.frameId !== this.mainFrameId) return c;
    }
    return null;
  }

  /** A real mouse click at the centre of a page-coordinates rectangle. */
  async click(rect) {
    // Let a scroll reach the compositor first: it hit-tests the click, also into an iframe's process.
    await sleep(300);
    const x = rect.x + rect.width / 2;
    const y = rect.y + rect.height / 2;
    await this.send("Input.dispatchMouseEvent", { type: "mouseMoved", x, y, button: "none", buttons: 0 });
    await this.send("Input.dispatchMouseEvent", { type: "mousePressed", x, y, button: "left", buttons: 1, clickCount: 1 });
    await this.send("Input.dispatchMouseEvent", { type: "mouseReleased", x, y, button: "left", buttons: 0, clickCount: 1 });
  }

  /** Clicks the element a selector finds in the top document. */
  async clickSelector(selector) {
    const rect = await this.eval(`(() => { const e = document.querySelector(${JSON.stringify(selector)}); if (!e) return null;
      e.scrollIntoView({ block: "center" }); const r = e.getBoundingClientRect(); return { x: r.x, y: r.y, width: r.width, height: r.height }; })()`);
    if (!rect) throw new Error(`no element ${selector}`);
    await this.click(rect);
  }

  async type(text) {
    await this.send("Input.insertText", { text });
  }

  /** A PNG of the whole document at the page's width. */
  async screenshot(path) {
    const full = await this.eval("Math.ceil(Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0))");
    const height = Math.min(Math.max(full, this.height), 16000);
    await this.send("Emulation.setDeviceMetricsOverride", { width: this.width, height, deviceScaleFactor: 1, mobile: false });
    await sleep(300);
    const { data } = await this.send("Page.captureScreenshot", { format: "png", captureBeyondViewport: false });
    await this.send("Emulation.setDeviceMetricsOverride", { width: this.width, height: this.height, deviceScaleFactor: 1, mobile: false });
    writeFileSync(path, Buffer.from(data, "base64"));
    return { width: this.width, height };
  }
}
