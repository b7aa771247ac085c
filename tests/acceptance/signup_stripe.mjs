// A small Stripe API double for tests/acceptance/signup.mjs, written from Stripe's public API
// reference (API version 2026-09-30), not from this project's own test server: form-encoded POST
// bodies in bracket notation (`items[0][price]=…`), JSON answers with Stripe's object shapes in
// full (async-stripe reads them strictly), `{"error": {type, code, message, param}}` errors,
// Bearer key auth, and `Idempotency-Key` honoured (same key, same request → the first answer
// replayed; same key, other parameters → idempotency_error). It keeps every request it was sent
// (`requests`, with the decoded form pairs) so a check can see exactly what reached "Stripe".
import http from "node:http";
import { randomBytes } from "node:crypto";

const now = () => Math.floor(Date.now() / 1000);
const DAY = 86400;
const rand = (n) => randomBytes(n).toString("base64").replace(/[^A-Za-z0-9]/g, "").slice(0, n);

// `a[b][0][c]=v` pairs → nested objects and arrays (`x[]` appends).
export function parseForm(text) {
  const pairs = [];
  for (const part of (text ?? "").split("&")) {
    if (!part) continue;
    const [k, v = ""] = part.split("=");
    pairs.push([decodeURIComponent(k.replace(/\+/g, " ")), decodeURIComponent(v.replace(/\+/g, " "))]);
  }
  const root = {};
  for (const [key, value] of pairs) {
    const path = key.match(/^[^[]+|\[[^\]]*\]/g).map((s) => s.replace(/^\[|\]$/g, ""));
    let node = root;
    path.forEach((seg, i) => {
      const last = i === path.length - 1;
      const nextArray = !last && /^\d*$/.test(path[i + 1]);
      const slot = seg === "" ? node.length : seg;
      if (last) node[slot] = value;
      else node = node[slot] ??= nextArray ? [] : {};
    });
  }
  return { pairs, params: root };
}

class StripeError extends Error {
  constructor(status, type, message, code = null, param = null) {
    super(message);
    Object.assign(this, { status, type, code, param });
  }
}
const invalid = (message, param = null, code = "parameter_invalid") => new StripeError(400, "invalid_request_error", message, code, param);
const missing = (kind, id, param = "id") => new StripeError(404, "invalid_request_error", `No such ${kind}: '${id}'`, "resource_missing", param);
// `metadata=` (an empty value) means no metadata, as Stripe reads it.
const meta = (m) => (m && typeof m === "object" ? m : {});
const bool = (v) => v === true || v === "true";
const int = (v) => (v === undefined || v === "" ? null : Number.parseInt(v, 10));
const listOf = (url, data, { limit = 10, starting_after } = {}) => {
  let items = data;
  if (starting_after) items = items.slice(items.findIndex((o) => o.id === starting_after) + 1);
  const n = int(limit) ?? 10;
  return { object: "list", data: items.slice(0, n), has_more: items.length > n, url };
};

export async function startStripeDouble({ secretKey, expiredCodeMessage }) {
  const store = { meters: [], products: [], prices: [], customers: [], coupons: [], promos: [], subscriptions: [], setupIntents: [], paymentMethods: [], sessions: [], invoices: [] };
  const requests = [];
  const answers = new Map(); // Idempotency-Key → { fingerprint, status, body }
  let serial = 0;
  const id = (prefix) => `${prefix}_${rand(8)}${(++serial).toString().padStart(4, "0")}`;
  const find = (kind, list, wanted, param) => list.find((o) => o.id === wanted) ?? (() => { throw missing(kind, wanted, param); })();

  const customer = (p) => ({
    id: id("cus"), object: "customer", address: null, balance: 0, created: now(), currency: null, default_source: null,
    delinquent: false, description: p.description ?? null, discount: null, email: p.email ?? null, invoice_prefix: rand(8).toUpperCase(),
    invoice_settings: { custom_fields: null, default_payment_method: null, footer: null, rendering_options: null },
    livemode: false, metadata: meta(p.metadata), name: p.name ?? null, next_invoice_sequence: 1, phone: p.phone ?? null,
    preferred_locales: [], shipping: null, tax_exempt: "none", test_clock: null,
  });
  const coupon = (p) => ({
    id: p.id ?? rand(8), object: "coupon", amount_off: int(p.amount_off), created: now(), currency: p.currency ?? null,
    duration: p.duration ?? "once", duration_in_months: int(p.duration_in_months), livemode: false, max_redemptions: int(p.max_redemptions),
    metadata: meta(p.metadata), name: p.name ?? null, percent_off: p.percent_off === undefined ? null : Number(p.percent_off),
    redeem_by: int(p.redeem_by), times_redeemed: 0, valid: true,
  });
  const promotionCode = (p, couponId) => ({
    id: id("promo"), object: "promotion_code", active: p.active === undefined ? true : bool(p.active), code: p.code ?? rand(8).toUpperCase(),
    created: now(), customer: p.customer ?? null, customer_account: null, expires_at: int(p.expires_at), livemode: false,
    max_redemptions: int(p.max_redemptions), metadata: meta(p.metadata), promotion: { coupon: couponId, type: "coupon" },
    restrictions: {
      currency_options: {}, first_time_transaction: bool(p.restrictions?.first_time_transaction),
      minimum_amount: int(p.restrictions?.minimum_amount), minimum_amount_currency: p.restrictions?.minimum_amount_currency ?? null,
    },
    times_redeemed: 0,
  });
  const tierOf = (t) => ({
    flat_amount: int(t.flat_amount), flat_amount_decimal: t.flat_amount ?? null,
    unit_amount: t.unit_amount !== undefined ? int(t.unit_amount) : /^\d+$/.test(t.unit_amount_decimal ?? "") ? int(t.unit_amount_decimal) : null,
    unit_amount_decimal: t.unit_amount_decimal ?? t.unit_amount ?? null, up_to: t.up_to === "inf" ? null : int(t.up_to),
  });
  const price = (p) => {
    const decimal = p.unit_amount_decimal ?? p.unit_amount ?? p.price_data?.unit_amount ?? null;
    const r = p.recurring;
    return {
      id: id("price"), object: "price", active: true, billing_scheme: p.billing_scheme ?? "per_unit", created: now(), currency: p.currency,
      custom_unit_amount: null, livemode: false, lookup_key: p.lookup_key ?? null, metadata: meta(p.metadata), nickname: p.nickname ?? null,
      product: p.product, recurring: r ? { interval: r.interval, interval_count: int(r.interval_count) ?? 1, meter: r.meter ?? null, trial_period_days: null, usage_type: r.usage_type ?? "licensed" } : null,
      tax_behavior: "unspecified", tiers: (p.tiers ?? []).map(tierOf), tiers_mode: p.tiers_mode ?? null,
      transform_quantity: p.transform_quantity ? { divide_by: int(p.transform_quantity.divide_by), round: p.transform_quantity.round } : null,
      type: r ? "recurring" : "one_time", unit_amount: /^\d+$/.test(decimal ?? "") ? int(decimal) : null, unit_amount_decimal: decimal,
    };
  };
  // `tiers` is includable: Stripe sends it only when expanded.
  const showPrice = (pr, expand = []) => { const { tiers, ...rest } = pr; return expand.includes("tiers") ? { ...rest, tiers } : rest; };
  const planOf = (pr) => ({
    id: pr.id, object: "plan", active: pr.active, amount: pr.unit_amount, amount_decimal: pr.unit_amount_decimal, billing_scheme: pr.billing_scheme,
    created: pr.created, currency: pr.currency, interval: pr.recurring.interval, interval_count: pr.recurring.interval_count, livemode: false,
    metadata: pr.metadata, meter: pr.recurring.meter, nickname: pr.nickname, product: pr.product, tiers_mode: pr.tiers_mode,
    transform_usage: null, trial_period_days: null, usage_type: pr.recurring.usage_type,
  });
  const setupIntent = (p) => {
    const sid = id("seti");
    return {
      id: sid, object: "setup_intent", application: null, automatic_payment_methods: { allow_redirects: "always", enabled: true },
      cancellation_reason: null, client_secret: `${sid}_secret_${rand(24)}`, created: now(), customer: p.customer ?? null, description: null,
      flow_directions: null, last_setup_error: null, latest_attempt: null, livemode: false, mandate: null, metadata: meta(p.metadata),
      next_action: null, on_behalf_of: null, payment_method: null, payment_method_configuration_details: null,
      payment_method_options: { card: { mandate_options: null, network: null, request_three_d_secure: "automatic" } },
      payment_method_types: ["card"], single_use_mandate: null, status: "requires_payment_method", usage: p.usage ?? "off_session",
    };
  };
  const lineItem = (invoiceId, sub, item, amount, { proration = false, description, start, end }) => ({
    id: id("il"), object: "line_item", amount, currency: sub.currency, description, discount_amounts: [], discountable: true, discounts: [],
    invoice: invoiceId, livemode: false, metadata: {},
    parent: {
      invoice_item_details: null, type: "subscription_item_details",
      subscription_item_details: { invoice_item: null, proration, proration_details: { credited_items: null }, subscription: sub.id, subscription_item: item.id },
    },
    period: { end, start }, pretax_credit_amounts: [],
    pricing: { price_details: { price: item.price.id, product: item.price.product }, type: "price_details", unit_amount_decimal: item.price.unit_amount_decimal },
    quantity: item.quantity ?? null, subtotal: amount, taxes: [],
  });
  const invoice = (sub, lines, { preview = false, start, end, expandSecret }) => {
    const iid = preview ? `upcoming_${id("in")}` : id("in");
    const data = lines.map((l) => lineItem(iid, sub, l.item, l.amount, { ...l, start: l.start ?? start, end: l.end ?? end }));
    const total = data.reduce((s, l) => s + l.amount, 0);
    const due = Math.max(total, 0), paid = !preview && due === 0;
    const cust = store.customers.find((c) => c.id === sub.customer);
    return {
      id: iid, object: "invoice", account_country: "US", account_name: "Double Ltd", account_tax_ids: null, amount_due: due, amount_overpaid: 0,
      amount_paid: 0, amount_remaining: paid ? 0 : due, amount_shipping: 0, application: null, attempt_count: 0, attempted: false, auto_advance: !paid,
      automatic_tax: { disabled_reason: null, enabled: false, liability: null, provider: null, status: null }, automatically_finalizes_at: null,
      billing_reason: preview ? "upcoming" : "subscription_create", collection_method: "charge_automatically",
      confirmation_secret: expandSecret && !paid ? { client_secret: `pi_${rand(16)}_secret_${rand(24)}`, type: "payment_intent" } : null,
      created: now(), currency: sub.currency, custom_fields: null, customer: sub.customer, customer_address: null, customer_email: cust?.email ?? null,
      customer_name: cust?.name ?? null, customer_phone: null, customer_shipping: null, customer_tax_exempt: "none", customer_tax_ids: [],
      default_payment_method: null, default_source: null, default_tax_rates: [], description: null, discounts: [], due_date: null,
      effective_at: preview ? null : now(), ending_balance: preview ? null : 0, footer: null, from_invoice: null,
      hosted_invoice_url: preview ? null : `https://invoice.stripe.com/i/${iid}`, invoice_pdf: preview ? null : `https://pay.stripe.com/invoice/${iid}/pdf`,
      issuer: { type: "self" }, last_finalization_error: null, latest_revision: null,
      lines: { object: "list", data, has_more: false, url: `/v1/invoices/${iid}/lines` }, livemode: false, metadata: {},
      next_payment_attempt: null, number: preview ? null : `DBL-${serial}`, on_behalf_of: null,
      parent: { quote_details: null, subscription_details: { metadata: sub.metadata, subscription: sub.id }, type: "subscription_details" },
      payment_settings: { default_mandate: null, payment_method_options: null, payment_method_types: null }, period_end: end, period_start: start,
      post_payment_credit_notes_amount: 0, pre_payment_credit_notes_amount: 0, receipt_number: null, rendering: null, shipping_cost: null,
      shipping_details: null, starting_balance: 0, statement_descriptor: null, status: preview ? "draft" : paid ? "paid" : "open",
      status_transitions: { finalized_at: preview ? null : now(), marked_uncollectible_at: null, paid_at: paid ? now() : null, voided_at: null },
      subtotal: total, subtotal_excluding_tax: total, test_clock: null, total, total_discount_amounts: [], total_excluding_tax: total,
      total_pretax_credit_amounts: [], total_taxes: [], webhooks_delivered_at: null,
    };
  };
  const subItem = (subId, pr, quantity, start, end) => ({
    id: id("si"), object: "subscription_item", billing_thresholds: null, created: now(), current_period_end: end, current_period_start: start,
    discounts: [], metadata: {}, plan: planOf(pr), price: showPrice(pr), quantity: pr.recurring.usage_type === "metered" ? undefined : quantity ?? 1,
    subscription: subId, tax_rates: [],
  });
  const periodEnd = (start, interval) => start + (interval === "year" ? 365 : 30) * DAY;
  // Every redemption check a promotion code gets from Stripe when it is applied.
  const redeem = (promoId, param) => {
    const promo = find("promotion code", store.promos, promoId, param);
    if (promo.expires_at !== null && promo.expires_at <= now()) throw invalid(expiredCodeMessage(promo), param, "coupon_expired");
    if (!promo.active) throw invalid(`This promotion code is inactive: '${promo.code}'`, param);
    if (promo.max_redemptions !== null && promo.times_redeemed >= promo.max_redemptions) throw invalid(`Promotion code ${promo.code} has been redeemed the maximum number of times.`, param);
    promo.times_redeemed += 1;
    return promo;
  };
  const showSub = (sub, expand = []) => ({
    ...sub,
    latest_invoice: expand.some((e) => e.startsWith("latest_invoice")) ? sub.latest_invoice : sub.latest_invoice?.id ?? null,
    pending_setup_intent: expand.includes("pending_setup_intent") ? sub.pending_setup_intent : sub.pending_setup_intent?.id ?? null,
  });
  const createSubscription = (p) => {
    const cust = find("customer", store.customers, p.customer, "customer");
    if (cust.deleted) throw missing("customer", p.customer, "customer");
    const start = now();
    const items = (p.items ?? []).map((it, i) => {
      const pr = find("price", store.prices, it.price, `items[${i}][price]`);
      if (pr.recurring?.usage_type === "metered" && it.quantity !== undefined) throw invalid("Quantity should not be specified where usage_type is `metered`. Remove quantity from `items[" + i + "]`.", `items[${i}][quantity]`);
      return [pr, int(it.quantity)];
    });
    if (!items.length) throw invalid("Missing required param: items.", "items", "parameter_missing");
    const trialEnd = p.trial_end ? int(p.trial_end) : p.trial_period_days ? start + int(p.trial_period_days) * DAY : null;
    const discounts = (p.discounts ?? []).map((d, i) => {
      if (d.promotion_code) redeem(d.promotion_code, `discounts[${i}][promotion_code]`);
      else find("coupon", store.coupons, d.coupon, `discounts[${i}][coupon]`).times_redeemed += 1;
      return id("di");
    });
    const attached = (pm, param) => {
      if (pm && !store.paymentMethods.some((m) => m.id === pm && m.customer === cust.id)) throw invalid(`The customer does not have a payment method with the ID ${pm}. The payment method must be attached to the customer.`, param);
      return pm ?? null;
    };
    const defaultMethod = attached(p.default_payment_method, "default_payment_method");
    const sid = id("sub");
    const end = trialEnd ?? periodEnd(start, items[0][0].recurring.interval);
    const data = items.map(([pr, q]) => subItem(sid, pr, q, start, end));
    const sub = {
      id: sid, object: "subscription", application: null, application_fee_percent: null,
      automatic_tax: { disabled_reason: null, enabled: false, liability: null }, billing_cycle_anchor: end, billing_cycle_anchor_config: null,
      billing_mode: { flexible: { proration_discounts: "included" }, type: "flexible", updated_at: start }, billing_schedules: [],
      billing_thresholds: null, cancel_at: null, cancel_at_period_end: false, canceled_at: null,
      cancellation_details: { comment: null, feedback: null, reason: null }, collection_method: "charge_automatically", created: start,
      currency: items[0][0].currency, customer: cust.id, days_until_due: null, default_payment_method: defaultMethod, default_source: null,
      default_tax_rates: [], description: null, discounts, ended_at: null,
      invoice_settings: { account_tax_ids: null, issuer: { type: "self" } },
      items: { object: "list", data, has_more: false, url: `/v1/subscription_items?subscription=${sid}` }, latest_invoice: null, livemode: false,
      metadata: meta(p.metadata), next_pending_invoice_item_invoice: null, on_behalf_of: null, pause_collection: null,
      payment_settings: { payment_method_options: null, payment_method_types: null, save_default_payment_method: "off" },
      pending_invoice_item_interval: null, pending_setup_intent: null, pending_update: null, schedule: null, start_date: start,
      status: trialEnd ? "trialing" : "incomplete", test_clock: null, transfer_data: null, trial_end: trialEnd,
      trial_settings: { end_behavior: { missing_payment_method: "create_invoice" } }, trial_start: trialEnd ? start : null,
    };
    const lines = data.map((item) => ({ item, amount: trialEnd || item.quantity === undefined ? 0 : item.price.unit_amount * item.quantity,
      description: `${item.quantity ?? 0} × ${item.price.nickname ?? item.price.id}${trialEnd ? " (trial)" : ""}` }));
    sub.latest_invoice = invoice(sub, lines, { start, end: trialEnd ?? start, expandSecret: (p.expand ?? []).includes("latest_invoice.confirmation_secret") });
    // Nothing to charge after the trial: Stripe asks for a payment method with a setup intent.
    if (trialEnd && p.payment_behavior === "default_incomplete" && !defaultMethod && !cust.invoice_settings.default_payment_method) {
      sub.pending_setup_intent = setupIntent({ customer: cust.id, usage: "off_session" });
      store.setupIntents.push(sub.pending_setup_intent);
    }
    store.subscriptions.push(sub);
    store.invoices.push(sub.latest_invoice);
    return showSub(sub, p.expand);
  };
  // invoices/create_preview with subscription_details: the subscription's next invoice after the
  // items change (prorated credits and charges for the rest of the period unless trialing).
  const previewInvoice = (p) => {
    const sub = find("subscription", store.subscriptions, p.subscription, "subscription");
    const d = p.subscription_details ?? {};
    const at = int(d.proration_date) ?? now();
    let items = sub.items.data.slice();
    const lines = [];
    const [start, end] = [sub.items.data[0].current_period_start, sub.items.data[0].current_period_end];
    const left = sub.status === "trialing" || d.proration_behavior === "none" ? 0 : Math.max(0, end - at) / (end - start);
    for (const [i, change] of (d.items ?? []).entries()) {
      if (change.id) {
        const old = find("subscription item", items, change.id, `subscription_details[items][${i}][id]`);
        if (bool(change.deleted)) items = items.filter((x) => x !== old);
        if (left && old.quantity) lines.push({ item: old, amount: -Math.round(old.price.unit_amount * old.quantity * left), proration: true, description: `Unused time on ${old.price.nickname} after ${new Date(at * 1000).toISOString().slice(0, 10)}`, start: at, end });
      } else {
        const pr = find("price", store.prices, change.price, `subscription_details[items][${i}][price]`);
        const item = subItem(sub.id, pr, int(change.quantity), start, end);
        items.push(item);
        if (left && item.quantity) lines.push({ item, amount: Math.round(pr.unit_amount * item.quantity * left), proration: true, description: `Remaining time on ${pr.nickname} after ${new Date(at * 1000).toISOString().slice(0, 10)}`, start: at, end });
      }
    }
    const next = periodEnd(end, items[0].price.recurring.interval);
    for (const item of items) lines.push({ item, amount: item.quantity ? item.price.unit_amount * item.quantity : 0, description: `${item.quantity ?? 0} × ${item.price.nickname}`, start: end, end: next });
    return invoice(sub, lines, { preview: true, start: end, end: next });
  };
  const checkoutSession = (p) => {
    const cid = id("cs_test");
    const lines = (p.line_items ?? []).map((l, i) => ({ amount: int(l.price_data?.unit_amount) ?? find("price", store.prices, l.price, `line_items[${i}][price]`).unit_amount ?? 0, quantity: int(l.quantity) ?? 1 }));
    const total = lines.reduce((s, l) => s + l.amount * l.quantity, 0);
    if (p.discounts?.[0]?.promotion_code) redeem(p.discounts[0].promotion_code, "discounts[0][promotion_code]");
    return {
      id: cid, object: "checkout.session", adaptive_pricing: null, after_expiration: null, allow_promotion_codes: p.allow_promotion_codes ? true : null,
      amount_subtotal: total, amount_total: total, automatic_tax: { enabled: false, liability: null, provider: null, status: null },
      billing_address_collection: null, cancel_url: p.cancel_url ?? null, client_reference_id: p.client_reference_id ?? null, client_secret: null,
      collected_information: null, consent: null, consent_collection: null, created: now(), currency: p.line_items?.[0]?.price_data?.currency ?? "usd",
      currency_conversion: null, custom_fields: [], custom_text: { after_submit: null, shipping_address: null, submit: null, terms_of_service_acceptance: null },
      customer: p.customer ?? null, customer_creation: null, customer_details: null, customer_email: null, discounts: [], expires_at: now() + DAY,
      invoice: null, invoice_creation: null, livemode: false, locale: null, metadata: meta(p.metadata), mode: p.mode, payment_intent: null,
      payment_link: null, payment_method_collection: "if_required", payment_method_configuration_details: null, payment_method_options: {},
      payment_method_types: ["card"], payment_status: "unpaid", phone_number_collection: { enabled: false }, recovered_from: null,
      saved_payment_method_options: null, setup_intent: null, shipping_address_collection: null, shipping_cost: null, shipping_options: [],
      status: "open", submit_type: null, subscription: null, success_url: p.success_url, total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 0 },
      ui_mode: "hosted_page", url: `https://checkout.stripe.com/c/pay/${cid}#${rand(12)}`, wallet_options: null,
    };
  };
  const expandPromo = (promo, expand = [], prefix = "") =>
    expand.includes(`${prefix}promotion.coupon`) ? { ...promo, promotion: { ...promo.promotion, coupon: store.coupons.find((c) => c.id === promo.promotion.coupon) } } : promo;
  const merge = (into, changes = {}) => {
    if (changes === "") for (const k of Object.keys(into)) delete into[k];
    for (const [k, v] of Object.entries(meta(changes))) v === "" ? delete into[k] : (into[k] = v);
  };

  // Routes: [method, path pattern, handler(params, match, query)].
  const routes = [
    ["GET", /^\/v1\/billing\/meters$/, (_, __, q) => listOf("/v1/billing/meters", store.meters.filter((m) => !q.status || m.status === q.status).slice().reverse(), q)],
    ["POST", /^\/v1\/billing\/meters$/, (p) => {
      if (store.meters.some((m) => m.event_name === p.event_name && m.status === "active")) throw invalid(`An active meter with event_name \`${p.event_name}\` already exists.`, "event_name");
      const m = { id: id("mtr"), object: "billing.meter", created: now(), customer_mapping: { event_payload_key: p.customer_mapping?.event_payload_key ?? "stripe_customer_id", type: "by_id" },
        default_aggregation: { formula: p.default_aggregation.formula }, display_name: p.display_name, event_name: p.event_name, event_time_window: null,
        livemode: false, status: "active", status_transitions: { deactivated_at: null }, updated: now(), value_settings: { event_payload_key: p.value_settings?.event_payload_key ?? "value" } };
      store.meters.push(m); return m;
    }],
    ["GET", /^\/v1\/products$/, (_, __, q) => listOf("/v1/products", store.products.filter((x) => q.active === undefined || x.active === bool(q.active)).slice().reverse(), q)],
    ["POST", /^\/v1\/products$/, (p) => {
      const x = { id: id("prod"), object: "product", active: true, created: now(), default_price: null, description: p.description ?? null, images: [], livemode: false,
        marketing_features: [], metadata: meta(p.metadata), name: p.name, package_dimensions: null, shippable: null, statement_descriptor: null, tax_code: null,
        type: "service", unit_label: null, updated: now(), url: null };
      store.products.push(x); return x;
    }],
    ["GET", /^\/v1\/prices$/, (_, __, q) => {
      const keys = q.lookup_keys ? Object.values(q.lookup_keys) : null;
      const found = store.prices.filter((x) => (q.active === undefined || x.active === bool(q.active)) && (!keys || keys.includes(x.lookup_key)) && (!q.product || x.product === q.product) && (!q.type || x.type === q.type));
      return listOf("/v1/prices", found.slice().reverse().map((x) => showPrice(x, (q.expand ?? []).map((e) => e.replace(/^data\./, "")))), q);
    }],
    ["POST", /^\/v1\/prices$/, (p) => {
      find("product", store.products, p.product, "product");
      if (p.recurring?.meter) find("billing meter", store.meters, p.recurring.meter, "recurring[meter]");
      const holder = p.lookup_key && store.prices.find((x) => x.lookup_key === p.lookup_key);
      if (holder && !bool(p.transfer_lookup_key)) throw invalid(`A price (\`${holder.id}\`) already uses that lookup key.`, "lookup_key");
      if (holder) holder.lookup_key = null;
      const x = price(p); store.prices.push(x); return showPrice(x, p.expand);
    }],
    ["POST", /^\/v1\/customers$/, (p) => { const c = customer(p); store.customers.push(c); return c; }],
    ["GET", /^\/v1\/customers\/([^/]+)$/, (_, [, cid]) => { const c = find("customer", store.customers, cid); return c.deleted ? { id: c.id, object: "customer", deleted: true } : c; }],
    ["POST", /^\/v1\/customers\/([^/]+)$/, (p, [, cid]) => {
      const c = find("customer", store.customers, cid);
      if (c.deleted) throw invalid(`No such customer: '${cid}'; it has been deleted.`, "id", "resource_missing");
      for (const k of ["name", "email", "phone", "description"]) if (p[k] !== undefined) c[k] = p[k] === "" ? null : p[k];
      const pm = p.invoice_settings?.default_payment_method;
      if (pm && !store.paymentMethods.some((m) => m.id === pm && m.customer === cid)) throw invalid(`No such PaymentMethod: '${pm}'; it must be attached to customer ${cid}.`, "invoice_settings[default_payment_method]");
      if (pm !== undefined) c.invoice_settings.default_payment_method = pm || null;
      merge(c.metadata, p.metadata); return c;
    }],
    ["DELETE", /^\/v1\/customers\/([^/]+)$/, (_, [, cid]) => {
      const c = store.customers.find((x) => x.id === cid && !x.deleted);
      if (!c) throw missing("customer", cid);
      c.deleted = true;
      for (const s of store.subscriptions.filter((s) => s.customer === cid && s.status !== "canceled")) Object.assign(s, { status: "canceled", canceled_at: now(), ended_at: now() });
      return { id: cid, object: "customer", deleted: true };
    }],
    ["GET", /^\/v1\/customers\/([^/]+)\/payment_methods$/, (_, [, cid], q) => {
      find("customer", store.customers, cid, "customer");
      return listOf(`/v1/customers/${cid}/payment_methods`, store.paymentMethods.filter((m) => m.customer === cid).slice().reverse(), q);
    }],
    ["POST", /^\/v1\/coupons$/, (p) => {
      if (p.percent_off === undefined && p.amount_off === undefined) throw invalid("Must provide either `percent_off` or `amount_off`.", "percent_off", "parameter_missing");
      if (p.duration === "repeating" && !p.duration_in_months) throw invalid("duration_in_months is required when duration is repeating.", "duration_in_months", "parameter_missing");
      const c = coupon(p); store.coupons.push(c); return c;
    }],
    ["GET", /^\/v1\/coupons$/, (_, __, q) => listOf("/v1/coupons", store.coupons.slice().reverse(), q)],
    ["POST", /^\/v1\/promotion_codes$/, (p) => {
      if (p.coupon !== undefined) throw invalid("Received unknown parameter: coupon", "coupon", "parameter_unknown");
      if (p.promotion?.type !== "coupon") throw invalid("Missing required param: promotion[type].", "promotion[type]", "parameter_missing");
      find("coupon", store.coupons, p.promotion.coupon, "promotion[coupon]");
      if (p.code && store.promos.some((x) => x.active && x.code.toLowerCase() === p.code.toLowerCase())) throw invalid(`An active promotion code with \`code: ${p.code}\` already exists.`, "code", "resource_already_exists");
      const x = promotionCode(p, p.promotion.coupon); store.promos.push(x); return expandPromo(x, p.expand);
    }],
    ["GET", /^\/v1\/promotion_codes$/, (_, __, q) => {
      const found = store.promos.filter((x) => (!q.code || x.code.toLowerCase() === q.code.toLowerCase()) && (!q.coupon || x.promotion.coupon === q.coupon)
        && (q.active === undefined || x.active === bool(q.active)) && (!q.customer || x.customer === q.customer));
      return listOf("/v1/promotion_codes", found.slice().reverse().map((x) => expandPromo(x, q.expand, "data.")), q);
    }],
    ["GET", /^\/v1\/promotion_codes\/([^/]+)$/, (_, [, pid], q) => expandPromo(find("promotion code", store.promos, pid), q.expand)],
    ["POST", /^\/v1\/subscriptions$/, (p) => createSubscription(p)],
    ["GET", /^\/v1\/subscriptions$/, (_, __, q) => {
      const found = store.subscriptions.filter((s) => (!q.customer || s.customer === q.customer) && (q.status === "all" || s.status !== "canceled"));
      return listOf("/v1/subscriptions", found.slice().reverse().map((s) => showSub(s)), q);
    }],
    ["POST", /^\/v1\/invoices\/create_preview$/, (p) => previewInvoice(p)],
    ["POST", /^\/v1\/setup_intents$/, (p) => {
      if (p.customer) find("customer", store.customers, p.customer, "customer");
      const s = setupIntent(p); store.setupIntents.push(s); return s;
    }],
    ["GET", /^\/v1\/setup_intents\/([^/]+)$/, (_, [, sid]) => find("setup intent", store.setupIntents, sid, "intent")],
    ["POST", /^\/v1\/checkout\/sessions$/, (p) => {
      if (!p.mode) throw invalid("Missing required param: mode.", "mode", "parameter_missing");
      if (p.customer) find("customer", store.customers, p.customer, "customer");
      const s = checkoutSession(p); store.sessions.push(s); return s;
    }],
  ];

  const errorBody = (e) => ({ error: { type: e.type, code: e.code, message: e.message, param: e.param, doc_url: null,
    request_log_url: `https://dashboard.stripe.com/test/logs/req_${rand(14)}` } });
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const url = new URL(req.url, "http://double");
      const form = parseForm(body), query = parseForm(url.search.slice(1));
      const key = req.headers["idempotency-key"] ?? null;
      const entry = { method: req.method, path: url.pathname, pairs: form.pairs, params: form.params, query: query.params, key, replayed: false, version: req.headers["stripe-version"] ?? null };
      requests.push(entry);
      const send = (status, json) => {
        Object.assign(entry, { status, answer: json });
        res.writeHead(status, { "Content-Type": "application/json", "Request-Id": `req_${rand(14)}`, ...(entry.replayed ? { "Idempotent-Replayed": "true" } : {}) });
        res.end(JSON.stringify(json));
      };
      const fail = (e) => send(e.status, errorBody(e));
      if (req.headers.authorization !== `Bearer ${secretKey}`) {
        return fail(new StripeError(401, "invalid_request_error", `Invalid API Key provided: ${(req.headers.authorization ?? "").replace(/^Bearer /, "").slice(0, 8)}****`, "api_key_invalid"));
      }
      const fingerprint = `${req.method} ${url.pathname} ${body}`;
      if (key && answers.has(key)) {
        const first = answers.get(key);
        if (first.fingerprint !== fingerprint) {
          return fail(new StripeError(400, "idempotency_error", `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`));
        }
        entry.replayed = true;
        return send(first.status, first.body);
      }
      const route = routes.find(([m, re]) => m === req.method && re.test(url.pathname));
      let status = 200, answer;
      try {
        if (!route) throw new StripeError(404, "invalid_request_error", `Unrecognized request URL (${req.method}: ${url.pathname}).`);
        answer = route[2](form.params, url.pathname.match(route[1]), query.params);
      } catch (e) {
        if (!(e instanceof StripeError)) throw e;
        status = e.status;
        answer = errorBody(e);
      }
      // Stripe keeps the first answer of a key (errors included, except 5xx/409) for 24 hours.
      if (key && req.method !== "GET") answers.set(key, { fingerprint, status, body: answer });
      send(status, answer);
    });
  });
  await new Promise((done) => server.listen(0, "127.0.0.1", done));

  return {
    port: server.address().port,
    requests,
    store,
    close: () => new Promise((done) => server.close(done)),
    seedPromotionCode({ code, percentOff, expiresAt }) {
      const c = coupon({ percent_off: String(percentOff), duration: "once" });
      store.coupons.push(c);
      const x = promotionCode({ code, expires_at: String(expiresAt) }, c.id);
      store.promos.push(x);
      return x;
    },
    // What Stripe does when the customer confirms a setup intent in the browser: a card attached
    // to the customer, the intent succeeded. Returns the intent as the webhook event carries it.
    confirmSetupIntent(setupIntentId) {
      const s = find("setup intent", store.setupIntents, setupIntentId);
      const pm = {
        id: id("pm"), object: "payment_method", allow_redisplay: "unspecified",
        billing_details: { address: { city: null, country: null, line1: null, line2: null, postal_code: null, state: null }, email: null, name: null, phone: null, tax_id: null },
        card: { brand: "visa", checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: "pass" }, country: "US", display_brand: "visa",
          exp_month: 12, exp_year: new Date().getUTCFullYear() + 3, fingerprint: rand(16), funding: "credit", generated_from: null, last4: "4242",
          networks: { available: ["visa"], preferred: null }, regulated_status: "unregulated", three_d_secure_usage: { supported: true }, wallet: null },
        created: now(), customer: s.customer, livemode: false, metadata: {}, type: "card",
      };
      store.paymentMethods.push(pm);
      Object.assign(s, { status: "succeeded", payment_method: pm.id });
      return s;
    },
  };
}
