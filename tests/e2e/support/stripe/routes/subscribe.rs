//! Signing a customer up: subscriptions created (active prices, no quantity on a metered item, a
//! trial from `trial_period_days` or `trial_end`, a coupon or a promotion code redeemed once, and
//! `default_incomplete` waiting for the first payment, whose secret comes on the expanded
//! `latest_invoice.confirmation_secret`, or the expanded `pending_setup_intent` during a trial);
//! setup intents; a customer and its payment methods.

use serde_json::{Value, json};

use super::invoices::invoice;
use super::ok;
use super::promotions::redeem;
use super::subscriptions::subscription_item;
use crate::support::stripe::errors::{Reply, invalid, missing, param_missing};
use crate::support::stripe::state::{CREATED, Data, Form, list_page, next_id, store};

/// Now, in epoch seconds: the harness's fixed clock, against which trials and expiry run.
fn now() -> i64 {
    CREATED
}

/// POST /v1/subscriptions
pub(super) fn create_subscription(d: &mut Data, f: &Form) -> Reply {
    let Some(customer) = f.get("customer").map(String::from) else {
        return param_missing("customer");
    };
    if !d.objects.contains_key(&customer) {
        return missing("customer", &customer, "customer");
    }
    let wanted = f.list("items");
    if wanted.is_empty() {
        return param_missing("items");
    }
    let id = next_id(d, "sub");
    let mut items = Vec::new();
    let mut due = 0;
    for (n, w) in wanted.iter().enumerate() {
        let price_id = w.get("price").map(String::as_str).unwrap_or_default();
        let price = match d.objects.get(price_id) {
            Some(p) if p["active"] == true => p.clone(),
            Some(_) => return invalid("The price specified is inactive.", Some("items")),
            None => return missing("price", price_id, &format!("items[{n}][price]")),
        };
        let metered = price["recurring"]["usage_type"] == "metered";
        if metered && w.contains_key("quantity") {
            return invalid(
                &format!(
                    "Quantity should not be specified where usage_type is `metered`. Remove quantity from `items[{n}]`."
                ),
                Some("items"),
            );
        }
        let quantity =
            (!metered).then(|| w.get("quantity").and_then(|q| q.parse().ok()).unwrap_or(1));
        let unit = price["unit_amount"].as_i64().or_else(|| {
            let decimal = price["unit_amount_decimal"].as_str()?;
            decimal.split('.').next()?.parse().ok()
        });
        due += unit.unwrap_or(0) * quantity.unwrap_or(0) as i64;
        items.push(subscription_item(d, &id, price, quantity));
    }
    let now = now();
    let trial_end = match (f.int("trial_end"), f.int("trial_period_days")) {
        (Some(end), _) => Some(end),
        (None, Some(days)) => Some(now + days * 86_400),
        (None, None) => None,
    };
    let discount = f.list("discounts").into_iter().next().unwrap_or_default();
    let mut discounts = Vec::new();
    if let Some(promo) = discount.get("promotion_code") {
        match redeem(d, promo, "discounts[0][promotion_code]", now) {
            Ok(_coupon) => discounts.push(json!(next_id(d, "di"))),
            Err(refused) => return refused,
        }
    } else if let Some(coupon) = discount.get("coupon") {
        if !d.objects.contains_key(coupon) {
            return missing("coupon", coupon, "discounts[0][coupon]");
        }
        discounts.push(json!(next_id(d, "di")));
    }
    let waits = f.get("payment_behavior") == Some("default_incomplete");
    let status = match (trial_end, waits) {
        (Some(_), _) => "trialing",
        (None, true) if due > 0 => "incomplete",
        _ => "active",
    };
    for item in &mut items {
        item["current_period_start"] = json!(now);
        item["current_period_end"] = json!(trial_end.unwrap_or(now + 30 * 86_400));
    }
    let invoice_id = next_id(d, "in");
    let first_due = if trial_end.is_some() { 0 } else { due };
    let mut first = invoice(
        &invoice_id,
        Some(&customer),
        "charge_automatically",
        "open",
        first_due,
    );
    first["created"] = json!(now);
    if first_due > 0 {
        first["confirmation_secret"] = json!({"client_secret": format!("pi_{}_secret_test", &invoice_id[3..]), "type": "payment_intent"});
    }
    store(d, "invoice", first.clone());
    let setup = (trial_end.is_some()).then(|| {
        let seti = next_id(d, "seti");
        setup_intent(&seti, &customer, now)
    });
    let sub = json!({
        "id": id, "object": "subscription",
        "automatic_tax": {"enabled": false}, "billing_cycle_anchor": trial_end.unwrap_or(now),
        "billing_mode": {"type": "flexible"}, "billing_schedules": [],
        "cancel_at": null, "cancel_at_period_end": false, "canceled_at": null,
        "collection_method": "charge_automatically", "created": now, "currency": "usd",
        "customer": customer, "discounts": discounts,
        "invoice_settings": {"issuer": {"type": "self"}},
        "items": {"object": "list", "data": items, "has_more": false, "url": format!("/v1/subscription_items?subscription={id}")},
        "latest_invoice": invoice_id, "livemode": false, "metadata": f.map("metadata"), "start_date": now,
        "default_payment_method": f.get("default_payment_method"),
        "status": status, "trial_end": trial_end,
        "pending_setup_intent": setup.as_ref().map(|s| s["id"].clone()),
    });
    store(d, "subscription", sub.clone());
    let mut answer = sub;
    let expand: Vec<&str> =
        f.0.iter()
            .filter(|(k, _)| k.starts_with("expand["))
            .map(|(_, v)| v.as_str())
            .collect();
    if expand.contains(&"latest_invoice.confirmation_secret") || expand.contains(&"latest_invoice")
    {
        answer["latest_invoice"] = first;
    }
    if let Some(s) = setup {
        store(d, "setup_intent", s.clone());
        if expand.contains(&"pending_setup_intent") {
            answer["pending_setup_intent"] = s;
        }
    }
    ok(answer)
}

fn setup_intent(id: &str, customer: &str, now: i64) -> Value {
    json!({"id": id, "object": "setup_intent", "client_secret": format!("{id}_secret_test"),
        "created": now, "customer": customer, "livemode": false, "metadata": {},
        "payment_method": null, "payment_method_types": ["card"],
        "status": "requires_payment_method", "usage": "off_session"})
}

/// POST /v1/setup_intents
pub(super) fn create_setup_intent(d: &mut Data, f: &Form) -> Reply {
    let Some(customer) = f.get("customer") else {
        return param_missing("customer");
    };
    if !d.objects.contains_key(customer) {
        return missing("customer", customer, "customer");
    }
    let id = next_id(d, "seti");
    let mut intent = setup_intent(&id, customer, now());
    intent["usage"] = json!(f.get("usage").unwrap_or("off_session"));
    intent["metadata"] = Value::Object(f.map("metadata"));
    ok(store(d, "setup_intent", intent))
}

/// GET /v1/setup_intents/{id}
pub(super) fn get_setup_intent(d: &Data, id: &str) -> Reply {
    match d.objects.get(id) {
        Some(s) if s["object"] == "setup_intent" => ok(s.clone()),
        _ => missing("setup_intent", id, "intent"),
    }
}

/// The customer completes setup intent `id` in the browser: a card saved to its customer (not
/// made the default, as Stripe does not), the intent `succeeded`. Answers the card's id.
pub(in crate::support::stripe) fn confirm_setup(d: &mut Data, id: &str) -> String {
    let customer = d.objects[id]["customer"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let card = save_card(d, &customer, "4242", false);
    let intent = d.objects.get_mut(id).unwrap();
    intent["status"] = json!("succeeded");
    intent["payment_method"] = json!(card);
    card
}

/// POST /v1/tax_ids (owned by a customer)
pub(super) fn create_tax_id(d: &mut Data, f: &Form) -> Reply {
    if f.get("owner[type]") != Some("customer") {
        return param_missing("owner[type]");
    }
    let customer = f.get("owner[customer]").unwrap_or_default().to_string();
    if !d.objects.contains_key(&customer) {
        return missing("customer", &customer, "owner[customer]");
    }
    let (Some(kind), Some(value)) = (f.get("type"), f.get("value")) else {
        return param_missing("value");
    };
    let id = next_id(d, "txi");
    ok(store(
        d,
        "tax_id",
        json!({"id": id, "object": "tax_id", "country": "DE", "created": CREATED, "customer": customer,
               "livemode": false, "owner": {"type": "customer", "customer": customer}, "type": kind,
               "value": value, "verification": {"status": "pending", "verified_address": null, "verified_name": null}}),
    ))
}

/// GET /v1/tax_ids (by owner)
pub(super) fn list_tax_ids(d: &Data, q: &Form) -> Reply {
    let owner = q.get("owner[customer]");
    ok(list_page(d, "tax_id", q, "/v1/tax_ids", |t| {
        owner.is_none_or(|o| t["customer"] == o)
    }))
}

/// GET /v1/customers/{id}
pub(super) fn get_customer(d: &Data, id: &str) -> Reply {
    match d.objects.get(id) {
        Some(c) if c["object"] == "customer" => ok(c.clone()),
        _ => missing("customer", id, "id"),
    }
}

/// GET /v1/customers/{id}/payment_methods
pub(super) fn list_payment_methods(d: &Data, id: &str, q: &Form) -> Reply {
    if !d.objects.contains_key(id) {
        return missing("customer", id, "customer");
    }
    let path = format!("/v1/customers/{id}/payment_methods");
    ok(list_page(d, "payment_method", q, &path, |p| {
        p["customer"] == id
    }))
}

/// A card saved for `customer`, made its default when `default`.
pub(in crate::support::stripe) fn save_card(
    d: &mut Data,
    customer: &str,
    last4: &str,
    default: bool,
) -> String {
    let id = next_id(d, "pm");
    let card = json!({"id": id, "object": "payment_method", "billing_details": {}, "created": now(),
        "customer": customer, "livemode": false, "type": "card",
        "card": {"brand": "visa", "exp_month": 12, "exp_year": 2030, "funding": "credit", "last4": last4}});
    store(d, "payment_method", card);
    if default && let Some(c) = d.objects.get_mut(customer) {
        c["invoice_settings"] = json!({"default_payment_method": id});
    }
    id
}
