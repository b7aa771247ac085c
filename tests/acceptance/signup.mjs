// Outside-in check of signing up through the server, with software this project did not write:
// the official MCP TypeScript client (@modelcontextprotocol/sdk), which validates every tool
// result's structuredContent against the tool's outputSchema (a mismatch throws), and a Stripe
// double written from Stripe's public API reference (signup_stripe.mjs). Two server processes
// share one SQLite ledger: the stdio server the client drives, and an HTTP server that takes the
// signed `setup_intent.succeeded` webhook the customer's browser would cause. Covered: the catalog
// synced, a coupon and promotion code (Stripe's 2025-09-30+ `promotion[type]=coupon` shape), a
// code looked up and an expired one refused in Stripe's own words, seed 003's onboarding end to
// end (one customer, one setup intent, one subscription with the starter prices, the trial and
// the code), change_plan's preview, a credit pack's Checkout, and a customer updated and deleted.
// Usage: node tests/acceptance/signup.mjs target/debug/billing-mcp
import { spawn } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync, createWriteStream } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport, getDefaultEnvironment } from "@modelcontextprotocol/sdk/client/stdio.js";
import { startStripeDouble } from "./signup_stripe.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const binary = resolve(process.argv[2] ?? "target/debug/billing-mcp");
const catalog = join(here, "..", "..", "examples", "billing.toml");
const dir = mkdtempSync(join(tmpdir(), "bmcp-signup-"));
const db = `sqlite://${join(dir, "ledger.db")}`;
const secretKey = `sk_test_${randomBytes(12).toString("hex")}`;
const webhookSecret = `whsec_${randomBytes(18).toString("hex")}`;
const expiredWords = (promo) => `The double refuses promotion code ${promo.code}: it expired at ${new Date(promo.expires_at * 1000).toISOString()} and can no longer be redeemed.`;

let passed = 0, failed = 0;
const check = (name, ok, detail) => {
  ok ? passed++ : failed++;
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${ok ? "" : ": " + (typeof detail === "string" ? detail : JSON.stringify(detail))}`);
  return ok;
};
// One check: `body` returns [ok, detail]; anything thrown (a schema mismatch, a tool error) fails it.
const step = async (name, body) => {
  try {
    const [ok, detail] = await body();
    return check(name, ok, detail);
  } catch (e) {
    return check(name, false, String(e?.message ?? e).slice(0, 600));
  }
};

const stripe = await startStripeDouble({ secretKey, expiredCodeMessage: expiredWords });
const summer = stripe.seedPromotionCode({ code: "SUMMER2024", percentOff: 20, expiresAt: Date.UTC(2024, 8, 1) / 1000 });
const env = { ...getDefaultEnvironment(), STRIPE_SECRET_KEY: secretKey, STRIPE_API_BASE: `http://127.0.0.1:${stripe.port}`, RUST_LOG: "info" };

// What reached the double: requests since `mark`, by method and path.
const mark = () => stripe.requests.length;
const sent = (method, path, since = 0) => stripe.requests.slice(since).filter((r) => r.method === method && (path instanceof RegExp ? path.test(r.path) : r.path === path));
const pair = (r, key) => r?.pairs.find(([k]) => k === key)?.[1];

// The HTTP server on the same ledger, for Stripe's webhooks.
const port = await new Promise((done) => {
  const probe = createServer().listen(0, "127.0.0.1", () => { const p = probe.address().port; probe.close(() => done(p)); });
});
const httpLog = createWriteStream(join(dir, "http-server.log"));
const httpServer = spawn(binary, ["serve", "--http", `127.0.0.1:${port}`, "--catalog", catalog, "--database-url", db],
  { env: { ...env, STRIPE_WEBHOOK_SECRET: webhookSecret }, stdio: ["ignore", "ignore", "pipe"] });
httpServer.stderr.pipe(httpLog);
process.on("exit", () => httpServer.kill());
for (let i = 0; i < 200; i++) {
  try { await fetch(`http://127.0.0.1:${port}/healthz`); break; } catch { await new Promise((r) => setTimeout(r, 50)); }
}
const deliver = async (type, object, { sign = true } = {}) => {
  const created = Math.floor(Date.now() / 1000);
  const body = JSON.stringify({ id: `evt_${randomBytes(12).toString("hex")}`, object: "event", api_version: "2026-09-30.endive", created,
    data: { object }, livemode: false, pending_webhooks: 1, request: { id: null, idempotency_key: null }, type });
  const signature = createHmac("sha256", webhookSecret).update(`${created}.${body}`).digest("hex");
  const res = await fetch(`http://127.0.0.1:${port}/webhooks/stripe`, { method: "POST", body,
    headers: { "Content-Type": "application/json", "Stripe-Signature": `t=${created},v1=${sign ? signature : "0".repeat(64)}` } });
  return { status: res.status, text: await res.text() };
};

// The operator's client on stdio; tools/list must print no Ajv warning (it compiles every schema).
const client = new Client({ name: "signup-acceptance", version: "1.0.0" });
const transport = new StdioClientTransport({ command: binary, args: ["serve", "--stdio", "--catalog", catalog, "--database-url", db], env, stderr: "pipe" });
const stdioLog = createWriteStream(join(dir, "stdio-server.log"));
transport.stderr?.pipe(stdioLog);
await client.connect(transport);
const warnings = [];
const warn = console.warn;
console.warn = (...args) => warnings.push(args.map(String).join(" "));
let listed;
try { listed = await client.listTools(); } finally { console.warn = warn; }
check(`tools/list (${listed.tools.length} tools) compiles every output schema without an Ajv warning`, listed.tools.length > 0 && warnings.length === 0, warnings.slice(0, 3));
const wanted = ["sync_catalog", "create_customer", "create_coupon", "create_promotion_code", "get_discount", "list_promotion_codes", "create_subscription", "create_setup_intent", "list_payment_methods", "create_credit_checkout", "change_plan", "start_onboarding", "continue_onboarding", "get_onboarding", "update_customer", "delete_customer", "get_customer"];
check("the sign-up tools are listed, each with an outputSchema the client validates against",
  wanted.every((t) => listed.tools.find((x) => x.name === t)?.outputSchema), wanted.filter((t) => !listed.tools.find((x) => x.name === t)?.outputSchema));

// A tool's result, validated by the client; a tool error throws with its text.
const call = async (name, args) => {
  const r = await client.callTool({ name, arguments: args });
  if (r.isError) throw new Error(`${name} answered an error: ${r.content?.[0]?.text}`);
  return r.structuredContent ?? {};
};
const refused = async (name, args) => {
  const r = await client.callTool({ name, arguments: args });
  let body = {};
  try { body = JSON.parse(r.content?.find((b) => b.type === "text")?.text ?? ""); } catch { /* checked by the caller */ }
  return { r, body };
};

console.log("== catalog, coupon and promotion code");
await step("sync_catalog applies the catalog (meters, products, prices)", async () => {
  const r = await call("sync_catalog", { dry_run: false });
  const made = (p) => sent("POST", p).filter((x) => x.status === 200).length;
  return [r.dry_run === false && r.changes > 0 && r.steps.every((s) => s.result) && made("/v1/billing/meters") > 0 && made("/v1/products") > 0 && made("/v1/prices") > 0,
    { changes: r.changes, unfinished: r.steps?.filter((s) => !s.result).slice(0, 3) }];
});
await step("sync_catalog run again plans nothing", async () => {
  const r = await call("sync_catalog", { dry_run: true });
  return [r.changes === 0, r.steps?.slice(0, 3)];
});
let couponId;
await step("create_coupon: 50% off, repeating for 3 months", async () => {
  const r = await call("create_coupon", { percent_off: "50", duration: "repeating", duration_in_months: 3, name: "Launch" });
  couponId = r.id;
  const req = sent("POST", "/v1/coupons").at(-1);
  return [r.percent_off === "50" && r.duration === "repeating" && r.duration_in_months === 3 && Number(pair(req, "percent_off")) === 50, r];
});
let launchPromoId;
await step("create_promotion_code LAUNCH50 sends promotion[type]=coupon and promotion[coupon]", async () => {
  const r = await call("create_promotion_code", { coupon: couponId, code: "LAUNCH50" });
  launchPromoId = r.id;
  const req = sent("POST", "/v1/promotion_codes").at(-1);
  return [r.code === "LAUNCH50" && r.coupon?.id === couponId && pair(req, "promotion[type]") === "coupon" && pair(req, "promotion[coupon]") === couponId
    && pair(req, "coupon") === undefined && req.status === 200, { result: r, sent: req?.pairs }];
});
await step("list_promotion_codes finds launch50 with its coupon", async () => {
  const r = await call("list_promotion_codes", { code: "launch50" });
  return [r.data?.length === 1 && r.data[0].id === launchPromoId && r.data[0].coupon?.percent_off === "50", r];
});

console.log("== discount codes");
await step("get_discount launch50 → redeemable", async () => {
  const r = await call("get_discount", { code: "launch50" });
  return [r.redeemable === true && !r.reason && r.code === "LAUNCH50", r];
});
await step("get_discount SUMMER2024 (expired at the double) → not redeemable, with the reason", async () => {
  const r = await call("get_discount", { code: "SUMMER2024" });
  return [r.redeemable === false && /expire/i.test(r.reason ?? "") && r.promotion_code?.id === summer.id, r];
});
await step("create_subscription with SUMMER2024 is a tool error carrying the double's own words", async () => {
  await call("create_customer", { customer: "trier", email: "trier@example.com" });
  const since = mark();
  const { r, body } = await refused("create_subscription", { customer: "trier", plan: "starter", promotion_code: "SUMMER2024" });
  const req = sent("POST", "/v1/subscriptions", since).at(-1);
  const words = expiredWords(summer);
  return [r.isError === true && r.structuredContent === undefined && body.code?.startsWith("stripe") && body.message?.includes(words)
    && pair(req, "discounts[0][promotion_code]") === summer.id && req.status === 400, { result: r.content?.[0]?.text?.slice(0, 500), words }];
});

await step("create_subscription with launch50 → a trialing subscription whose result validates", async () => {
  const since = mark();
  const r = await call("create_subscription", { customer: "trier", plan: "starter", promotion_code: "launch50" });
  const req = sent("POST", "/v1/subscriptions", since).at(-1);
  const after = await call("get_customer", { customer: "trier" });
  return [r.status === "trialing" && r.trial_days === 14 && r.promotion_code === "LAUNCH50" && r.items?.length === 2 && r.client_secret_type === "setup"
    && pair(req, "discounts[0][promotion_code]") === launchPromoId && after.plan === "starter" && after.status === "trialing", { result: r, customer: after }];
});
await step("create_setup_intent → a client_secret for Stripe.js", async () => {
  const r = await call("create_setup_intent", { customer: "trier" });
  return [/^seti_/.test(r.id ?? "") && r.client_secret?.startsWith(`${r.id}_secret_`) && r.usage === "off_session" && r.status === "requires_payment_method", r];
});

console.log("== seed 003's onboarding");
const email = "Ada.Lovelace@Example.com";
const onboardingStart = mark();
let flow;
await step("start_onboarding → step payment_method with a setup_client_secret", async () => {
  flow = await call("start_onboarding", { email, name: "Ada Lovelace", company: "Analytical Engines" });
  return [flow.step === "payment_method" && /^seti_\w+_secret_/.test(flow.setup_client_secret ?? ""), flow];
});
await step("start_onboarding again resumes the same flow; one customer and one setup intent at Stripe", async () => {
  const again = await call("start_onboarding", { email });
  const customers = sent("POST", "/v1/customers", onboardingStart), intents = sent("POST", "/v1/setup_intents", onboardingStart);
  return [again.onboarding_id === flow.onboarding_id && again.step === "payment_method" && customers.length === 1 && intents.length === 1
    && pair(customers[0], "email") === email.toLowerCase() && pair(intents[0], "usage") === "off_session",
    { again: again.onboarding_id, first: flow.onboarding_id, customers: customers.length, intents: intents.length }];
});
await step("continue_onboarding keeps plan starter and code LAUNCH50, still waiting for the payment method", async () => {
  const r = await call("continue_onboarding", { onboarding_id: flow.onboarding_id, plan: "starter", promotion_code: "LAUNCH50" });
  return [r.step === "payment_method" && r.plan === "starter" && r.promotion_code === "LAUNCH50", r];
});
const ledgerCustomer = await call("get_customer", { customer: flow?.customer ?? "-" }).catch(() => ({}));
const stripeCustomer = ledgerCustomer.stripe_customer_id;
await step("an unsigned webhook delivery is refused with 400", async () => {
  const r = await deliver("setup_intent.succeeded", { id: "seti_forged", object: "setup_intent", customer: stripeCustomer }, { sign: false });
  return [r.status === 400, r];
});
await step("a signed setup_intent.succeeded moves the flow to step subscription", async () => {
  const intentId = flow.setup_client_secret.split("_secret_")[0];
  const r = await deliver("setup_intent.succeeded", stripe.confirmSetupIntent(intentId));
  let seen;
  for (let i = 0; i < 50; i++) {
    seen = await call("get_onboarding", { onboarding: flow.onboarding_id });
    if (seen.step !== "payment_method") break;
    await new Promise((done) => setTimeout(done, 100));
  }
  return [r.status === 200 && seen.step === "subscription", { webhook: r, step: seen.step, missing: seen.missing }];
});
await step("list_payment_methods shows the card the setup intent saved", async () => {
  const r = await call("list_payment_methods", { customer: flow.customer });
  return [r.data?.length === 1 && r.data[0].brand === "visa" && r.data[0].last4 === "4242" && r.customer === stripeCustomer, r];
});
let subscriptionId;
await step("continue_onboarding → complete: one subscription with the starter prices, the 14-day trial and LAUNCH50", async () => {
  const since = mark();
  const r = await call("continue_onboarding", { onboarding_id: flow.onboarding_id });
  subscriptionId = r.subscription_id;
  const subs = sent("POST", "/v1/subscriptions", since), req = subs[0];
  const price = (key) => stripe.store.prices.find((p) => p.lookup_key === key)?.id;
  const items = [0, 1, 2].map((i) => [pair(req, `items[${i}][price]`), pair(req, `items[${i}][quantity]`)]).filter(([p]) => p);
  const base = items.find(([p]) => p === price("starter_monthly")), usage = items.find(([p]) => p === price("starter_tool_calls_monthly"));
  return [r.step === "complete" && /^sub_/.test(subscriptionId ?? "") && subs.length === 1 && items.length === 2 && base?.[1] === "1" && usage && usage[1] === undefined
    && pair(req, "trial_period_days") === "14" && pair(req, "discounts[0][promotion_code]") === launchPromoId && pair(req, "metadata[billing_mcp_plan]") === "starter",
    { step: r.step, subscriptions: subs.length, sent: req?.pairs }];
});
// Stripe charges a subscription's default_payment_method, else the customer's
// invoice_settings.default_payment_method; a card a setup intent attached is neither until one is
// set ("To use this PaymentMethod as the default for invoice or subscription payments, set
// invoice_settings.default_payment_method", Stripe's reference for attaching a PaymentMethod).
await step("the subscription will charge the card the setup intent saved when the trial ends", async () => {
  const card = stripe.store.paymentMethods.find((m) => m.customer === stripeCustomer)?.id;
  const sub = stripe.store.subscriptions.find((s) => s.id === subscriptionId);
  const owner = stripe.store.customers.find((c) => c.id === stripeCustomer);
  const listed = await call("list_payment_methods", { customer: flow.customer });
  return [card && (sub?.default_payment_method === card || owner?.invoice_settings.default_payment_method === card) && listed.default_payment_method === card,
    { card, subscription_default_payment_method: sub?.default_payment_method, customer_default_payment_method: owner?.invoice_settings.default_payment_method,
      list_payment_methods_default: listed.default_payment_method }];
});
await step("get_customer: plan starter, status trialing", async () => {
  const r = await call("get_customer", { customer: flow.customer });
  return [r.plan === "starter" && r.status === "trialing" && r.trial_ends_at, r];
});
await step("continue_onboarding again creates nothing more", async () => {
  const since = mark();
  const r = await call("continue_onboarding", { onboarding_id: flow.onboarding_id });
  const writes = stripe.requests.slice(since).filter((x) => x.method !== "GET");
  return [r.step === "complete" && r.subscription_id === subscriptionId && writes.length === 0, { step: r.step, writes: writes.map((w) => `${w.method} ${w.path}`) }];
});

console.log("== after the sign-up");
await step("change_plan to professional (dry run) shows Stripe's preview beside the ledger's", async () => {
  const since = mark();
  const r = await call("change_plan", { customer: flow.customer, plan: "professional" });
  const preview = sent("POST", "/v1/invoices/create_preview", since).at(-1);
  const detailKeys = preview?.pairs.filter(([k]) => k.startsWith("subscription_details[items]")) ?? [];
  const changed = sent("POST", /^\/v1\/subscriptions\/./, since);
  return [r.dry_run === true && r.stripe_preview && r.ledger && pair(preview, "subscription") === subscriptionId && detailKeys.length > 0 && changed.length === 0,
    { dry_run: r.dry_run, has_preview: !!r.stripe_preview, has_ledger: !!r.ledger, sent: preview?.pairs }];
});
await step("create_credit_checkout small_pack → a Checkout url for a 1000 payment", async () => {
  const since = mark();
  const r = await call("create_credit_checkout", { customer: flow.customer, pack: "small_pack", success_url: "https://example.com/thanks" });
  const req = sent("POST", "/v1/checkout/sessions", since).at(-1);
  return [/^https:\/\//.test(r.url ?? "") && r.mode === "payment" && pair(req, "mode") === "payment" && pair(req, "line_items[0][price_data][unit_amount]") === "1000"
    && pair(req, "metadata[billing_mcp_pack]") === "small_pack" && pair(req, "customer") === stripeCustomer, { result: r, sent: req?.pairs }];
});
let leaver;
await step("update_customer mirrors a new name to the Stripe customer", async () => {
  leaver = await call("create_customer", { customer: "leaver", name: "Old Name", email: "leaver@example.com" });
  const id = leaver.stripe_customer_id ?? leaver.customer?.stripe_customer_id;
  const since = mark();
  const r = await call("update_customer", { customer: "leaver", name: "New Name" });
  const req = sent("POST", `/v1/customers/${id}`, since).at(-1);
  return [r.changed === true && r.stripe_updated === true && pair(req, "name") === "New Name" && stripe.store.customers.find((c) => c.id === id)?.name === "New Name",
    { result: r, sent: req?.pairs }];
});
await step("delete_customer (confirmed) deletes the Stripe customer; get_customer keeps no name or email", async () => {
  const id = leaver.stripe_customer_id ?? leaver.customer?.stripe_customer_id;
  const since = mark();
  const r = await call("delete_customer", { customer: "leaver", confirm: true });
  const del = sent("DELETE", `/v1/customers/${id}`, since);
  const after = await call("get_customer", { customer: "leaver" });
  return [r.deleted === true && del.length === 1 && del[0].status === 200 && after.deleted_at && after.name == null && after.email == null,
    { deleted: r, after, sent: del.length }];
});

await client.close();
httpServer.kill();
await stripe.close();
if (failed) {
  writeFileSync(join(dir, "stripe-requests.json"), JSON.stringify(stripe.requests, null, 1));
  console.log(`(server logs and the double's requests are in ${dir})`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
