// Outside check with the official MCP TypeScript client (@modelcontextprotocol/sdk 1.x), which
// validates every tool result's structuredContent against the tool's outputSchema: the ledger's
// figures (seed 003's invoice, seed 001's reserved overage, a plan change's dry run, credits) come
// back through it intact; tools/list compiles every schema without an Ajv warning; and tool errors
// (unknown_customer, invalid_params, stripe_not_configured, forbidden) come back from callTool as
// results with isError and the code in the text's JSON, never as a thrown schema mismatch. Over
// streamable HTTP with an API key, the same client calls every read-only tool it is shown and
// gets each kind of error back as a result.
// Usage: node tests/acceptance/ts_client.mjs target/debug/billing-mcp
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport, getDefaultEnvironment } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const here = dirname(fileURLToPath(import.meta.url));
const binary = resolve(process.argv[2] ?? "target/debug/billing-mcp");
const catalog = join(here, "..", "..", "examples", "billing.toml");
const reserved = readFileSync(join(here, "..", "..", "examples", "reserved.json"), "utf8");
const db = `sqlite://${join(mkdtempSync(join(tmpdir(), "bmcp-ts-")), "ledger.db")}`;

let passed = 0, failed = 0;
const check = (name, ok, detail) => {
  ok ? passed++ : failed++;
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${ok ? "" : ": " + JSON.stringify(detail)}`);
};

// A client on stdio (the operator, or acting as `key`) whose tools/list printed no warning: Ajv
// compiles every outputSchema there and warns (console.warn) on formats it does not know.
const connect = async (label, key) => {
  const c = new Client({ name: "ts-acceptance", version: "1.0.0" });
  const env = key ? { ...getDefaultEnvironment(), BILLING_MCP_API_KEY: key } : undefined;
  await c.connect(new StdioClientTransport({ command: binary, args: ["serve", "--stdio", "--catalog", catalog, "--database-url", db], env }));
  const warnings = [];
  const warn = console.warn;
  console.warn = (...args) => warnings.push(args.map(String).join(" "));
  let listed;
  try {
    listed = await c.listTools(); // the client keeps each tool's outputSchema to validate results against
  } finally {
    console.warn = warn;
  }
  check(`${label}: tools/list (${listed.tools.length} tools) prints no schema warning`, listed.tools.length > 0 && warnings.length === 0, warnings.slice(0, 3));
  return c;
};

// A tool error as a program reads it: callTool returns it (a throw is a failed check), isError is
// set, no structuredContent, and the text is {code, message} as JSON.
const failing = async (c, name, args, code) => {
  let r;
  try {
    r = await c.callTool({ name, arguments: args });
  } catch (e) {
    return check(`${name} → ${code} is returned, not thrown`, false, String(e));
  }
  let body = {};
  try { body = JSON.parse(r.content?.find((b) => b.type === "text")?.text ?? ""); } catch { /* checked below */ }
  check(`${name} → ${code} is returned with isError and the code readable`,
    r.isError === true && r.structuredContent === undefined && body.code === code && body.message?.length > 10, r);
};

console.log("== schemas and errors · stdio · TypeScript SDK");
const client = await connect("operator");
const call = async (name, args) => {
  const r = await client.callTool({ name, arguments: args }); // throws when a result breaks its schema
  return r.structuredContent ?? {};
};

await failing(client, "get_customer", { customer: "nobody" }, "unknown_customer");
await failing(client, "record_usage", { customer: "nobody", meter: "agents", quantity: "three" }, "invalid_params");
await failing(client, "create_product", { name: "Pro" }, "stripe_not_configured");
await failing(client, "list_products", {}, "stripe_not_configured");
await call("create_customer", { customer: "own" });
const made = await call("create_api_key", { role: "customer", customer: "own" });
const own = await connect("a customer key", made.secret);
await failing(own, "get_usage", { customer: "jeturing" }, "forbidden");
await failing(own, "create_customer", { customer: "intruder" }, "forbidden");
await own.close();

console.log("== ledger · stdio · TypeScript SDK");
try {
  await call("create_customer", { customer: "jeturing" });
  await call("set_customer_plan", { customer: "jeturing", plan: "forensics", status: "active", reset_period: true });
  for (const [meter, quantity] of [["agents", 3], ["agents", 5], ["cases", 1], ["cases", 1], ["events_ingested", 1234], ["api_calls", 2500]]) {
    await call("record_usage", { customer: "jeturing", meter, quantity });
  }
  const inv = await call("preview_invoice", { customer: "jeturing" });
  check("seed 003's invoice validates and totals 382.64", inv.total?.display === "382.64", inv.total);
  const usage = await call("get_usage", { customer: "jeturing", meter: "agents" });
  check("get_usage shows the agents' peak", usage.totals?.[0]?.quantity === 5, usage.totals);

  await call("create_customer", { customer: "acme" });
  const stored = await call("set_reserved_tiers", { reserved_json: reserved, dry_run: false });
  await call("record_usage", { customer: "acme", meter: "vex", quantity: 17000 });
  await call("record_usage", { customer: "acme", meter: "fu", quantity: 80000 });
  const acme = await call("preview_invoice", { customer: "acme" });
  const overage = Object.fromEntries(acme.lines.filter((l) => l.kind === "usage").map((l) => [l.meter, l.amount.amount]));
  check("seed 001's reserved overage is $20.00 and $5.00", overage.vex === 2000 && overage.fu === 500 && stored.customers?.length === 1, overage);
  const quote = await call("quote_price", { customer: "acme", meter: "vex", quantity: 100 });
  check("a reserved quote validates", quote.amount?.amount === 100, quote.amount);

  await call("create_customer", { customer: "mover" });
  await call("set_customer_plan", { customer: "mover", plan: "starter", status: "active", reset_period: true });
  await call("record_usage", { customer: "mover", meter: "tool_calls", quantity: 1250 });
  const dry = await call("set_customer_plan", { customer: "mover", plan: "professional", dry_run: true });
  const kinds = dry.invoice?.lines?.map((l) => l.kind);
  check("a plan change's dry run validates with its prorations", dry.dry_run === true && kinds?.filter((k) => k === "proration").length === 2, kinds);
  const check1 = await call("check_entitlement", { customer: "mover", feature: "tool_calls", quantity: 1 });
  check("an entitlement's cost validates and is 5 cents above the allowance", check1.cost?.amount?.amount === 5 && check1.cost?.total_after?.amount === 1255, check1.cost);
  const compactRaw = await client.callTool({ name: "check_entitlement", arguments: { customer: "mover", feature: "tool_calls", compact: true } });
  const compact = compactRaw.structuredContent ?? {};
  check("a compact check validates: structured content alone, the same decision and figures",
    compactRaw.content?.length === 0 && compact.allowed === check1.allowed && compact.remaining === check1.remaining && compact.resets_at === check1.resets_at && compact.message === "" && compact.used === undefined,
    compactRaw);

  await call("create_customer", { customer: "cred", plan: "credits" });
  await call("grant_credits", { customer: "cred", credits: 10 });
  const adjusted = await call("adjust_credits", { customer: "cred", credits: -4, reason: "correction" });
  const balance = await call("get_credit_balance", { customer: "cred" });
  check("adjust_credits and the balance validate", adjusted.balance === 6 && balance.balance === 6, adjusted);
  const plans = await call("list_plans", {});
  check("list_plans validates with dimension prices", plans.plans?.some((p) => Object.keys(p.meters.find((m) => m.meter === "llm_tokens")?.dimension_prices ?? {}).length === 2), null);
} catch (e) {
  check("every result validates against its outputSchema", false, String(e));
}
await client.close();

console.log("== every read-only tool and each kind of error · streamable HTTP · TypeScript SDK");
const port = await new Promise((done) => {
  const probe = createServer().listen(0, "127.0.0.1", () => { const p = probe.address().port; probe.close(() => done(p)); });
});
const keyOf = (...args) => execFileSync(binary, ["keys", "create", ...args, "--database-url", db]).toString().trim().split("\n").pop();
const adminKey = keyOf("--role", "admin");
const server = spawn(binary, ["serve", "--http", `127.0.0.1:${port}`, "--catalog", catalog, "--database-url", db], { stdio: "ignore" });
const url = new URL(`http://127.0.0.1:${port}/mcp`);
for (let i = 0; i < 100; i++) {
  try { await fetch(`http://127.0.0.1:${port}/healthz`); break; } catch { await new Promise((r) => setTimeout(r, 50)); }
}
const overHttp = async (label, key) => {
  const c = new Client({ name: "ts-acceptance-http", version: "1.0.0" });
  await c.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers: { Authorization: `Bearer ${key}` } } }));
  const warnings = [];
  const warn = console.warn;
  console.warn = (...args) => warnings.push(args.map(String).join(" "));
  let listed;
  try { listed = await c.listTools(); } finally { console.warn = warn; }
  check(`${label}: tools/list over HTTP (${listed.tools.length} tools) prints no schema warning`, listed.tools.length > 0 && warnings.length === 0, warnings.slice(0, 3));
  return [c, listed.tools];
};
try {
  const [admin, tools] = await overHttp("an admin key", adminKey);
  // Arguments for a read tool's required properties, from what the ledger above holds.
  const known = { customer: "jeturing", meter: "agents", feature: "tool_calls", plan: "starter", quantity: 1 };
  let called = 0, skipped = [];
  for (const tool of tools.filter((t) => t.annotations?.readOnlyHint === true)) {
    const required = tool.inputSchema?.required ?? [];
    if (!required.every((p) => p in known)) { skipped.push(tool.name); continue; }
    const args = Object.fromEntries(required.map((p) => [p, known[p]]));
    try {
      const r = await admin.callTool({ name: tool.name, arguments: args });
      const code = r.isError ? JSON.parse(r.content?.[0]?.text ?? "{}").code : "ok";
      const fine = code === "ok" || code === "stripe_not_configured";
      if (!fine) check(`${tool.name} over HTTP answers`, false, r);
      called++;
    } catch (e) {
      check(`${tool.name} over HTTP is returned, not thrown`, false, String(e));
    }
  }
  check(`every read-only tool over HTTP validates or returns its error (${called} called; needing ids the ledger lacks: ${skipped.join(", ") || "none"})`, called > 10, skipped);
  await failing(admin, "get_customer", { customer: "nobody" }, "unknown_customer");
  await failing(admin, "quote_price", { plan: "starter", meter: "tool_calls", quantity: -3 }, "invalid_params");
  await failing(admin, "list_invoices", {}, "stripe_not_configured");
  await admin.close();
  const [customer] = await overHttp("a customer key", keyOf("--role", "customer", "--customer", "own"));
  await failing(customer, "get_usage", { customer: "jeturing" }, "forbidden");
  await customer.close();
  const [slow] = await overHttp("a key of 1 call a minute", keyOf("--role", "service", "--rate-per-minute", "1", "--burst", "1"));
  await slow.callTool({ name: "list_plans", arguments: {} });
  await failing(slow, "list_plans", {}, "rate_limited");
  await slow.close();
} catch (e) {
  check("the HTTP checks ran", false, String(e));
} finally {
  server.kill();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
