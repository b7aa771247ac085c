//! Invoices (drafts, finalized once), invoice items that add to their invoice's total, and the
//! preview of a subscription's next invoice: its licensed items at quantity, its metered items at
//! the usage the server holds for the customer on their meter (per-unit prices only).

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::ok;
use crate::support::stripe::errors::{Reply, error, missing};
use crate::support::stripe::state::{CREATED, Data, Form, next_id, store};

/// POST /v1/invoices
pub(super) fn create_invoice(d: &mut Data, f: &Form) -> Reply {
    let id = next_id(d, "in");
    let method = if f.get("collection_method") == Some("send_invoice") {
        "send_invoice"
    } else {
        "charge_automatically"
    };
    ok(store(
        d,
        "invoice",
        invoice(&id, f.get("customer"), method, "draft", 0),
    ))
}

/// POST /v1/invoices/{id}/finalize
pub(super) fn finalize_invoice(d: &mut Data, id: &str) -> Reply {
    let Some(mut inv) = d.objects.get(id).cloned() else {
        return missing("invoice", id, "invoice");
    };
    if inv["status"] != "draft" {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("invoice_not_editable"),
            "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
            None,
        );
    }
    inv["status"] = json!("open");
    inv["number"] = json!("TEST-0001");
    inv["hosted_invoice_url"] = json!(format!("https://invoice.stripe.com/i/{id}"));
    ok(store(d, "invoice", inv))
}

/// POST /v1/invoiceitems
pub(super) fn create_invoice_item(d: &mut Data, f: &Form) -> Reply {
    let id = next_id(d, "ii");
    let (amount, quantity) = match f.get("pricing[price]") {
        Some(p) => {
            let Some(price) = d.objects.get(p) else {
                return missing("price", p, "pricing[price]");
            };
            let q = f.int("quantity").unwrap_or(1);
            (price["unit_amount"].as_i64().unwrap_or(0) * q, q)
        }
        None => (f.int("amount").unwrap_or(0), 1),
    };
    if let Some(inv) = f.get("invoice").and_then(|i| d.objects.get_mut(i)) {
        let total = inv["total"].as_i64().unwrap_or(0) + amount;
        for k in ["total", "subtotal", "amount_due", "amount_remaining"] {
            inv[k] = json!(total);
        }
    }
    ok(store(
        d,
        "invoiceitem",
        json!({"id": id, "object": "invoiceitem", "amount": amount, "currency": "usd",
        "customer": f.get("customer"), "date": CREATED, "description": f.get("description"), "discountable": true,
        "invoice": f.get("invoice"), "livemode": false, "metadata": f.map("metadata"),
        "period": {"start": CREATED, "end": CREATED}, "proration": false, "quantity": quantity,
        "quantity_decimal": quantity.to_string()}),
    ))
}

/// POST /v1/invoices/create_preview (customer and subscription; nothing is stored). With
/// `subscription_details[items]` the preview is of the subscription changed so: items deleted or
/// added, and under `create_prorations` (or `always_invoice`) a proration line per licensed item
/// that leaves (a credit) or comes (a charge) for the rest of its period from
/// `subscription_details[proration_date]`, `amount × (end − date) / (end − start)`, rounded.
pub(super) fn preview_invoice(d: &mut Data, f: &Form) -> Reply {
    let Some(sub) = f
        .get("subscription")
        .and_then(|s| d.objects.get(s))
        .cloned()
    else {
        return missing(
            "subscription",
            f.get("subscription").unwrap_or(""),
            "subscription",
        );
    };
    let customer = f.get("customer").unwrap_or_default().to_string();
    let mut items: Vec<Value> = sub["items"]["data"].as_array().cloned().unwrap_or_default();
    let mut prorations = Vec::new();
    let at = f
        .int("subscription_details[proration_date]")
        .unwrap_or(CREATED);
    let prorate = f.get("subscription_details[proration_behavior]") != Some("none");
    let share = |amount: i64, item: &Value| {
        let (start, end) = (
            item["current_period_start"].as_i64().unwrap_or(CREATED),
            item["current_period_end"].as_i64().unwrap_or(CREATED),
        );
        let span = (end - start).max(1);
        let left = (end - at).clamp(0, span);
        // Half away from zero, in integers (amount ≥ 0).
        (2 * amount * left + span) / (2 * span)
    };
    for change in f.list("subscription_details[items]") {
        if change.get("deleted").map(String::as_str) == Some("true") {
            let id = change.get("id").cloned().unwrap_or_default();
            if let Some(gone) = items.iter().find(|i| i["id"] == id.as_str())
                && gone["price"]["recurring"]["usage_type"] != "metered"
                && prorate
            {
                let unit = gone["price"]["unit_amount"]
                    .as_i64()
                    .or_else(|| gone["price"]["unit_amount_decimal"].as_str()?.parse().ok());
                let amount = unit.unwrap_or(0) * gone["quantity"].as_i64().unwrap_or(1);
                prorations.push((-share(amount, gone), "Unused time".to_string(), id.clone()));
            }
            items.retain(|i| i["id"] != id.as_str());
        } else if let Some(price) = change.get("price").and_then(|p| d.objects.get(p)).cloned() {
            let quantity = change.get("quantity").and_then(|q| q.parse().ok());
            let mut item = super::subscriptions::subscription_item(
                d,
                sub["id"].as_str().unwrap_or(""),
                price,
                quantity,
            );
            if let Some(first) = sub["items"]["data"].get(0) {
                item["current_period_start"] = first["current_period_start"].clone();
                item["current_period_end"] = first["current_period_end"].clone();
            }
            if item["price"]["recurring"]["usage_type"] != "metered" && prorate {
                let unit = item["price"]["unit_amount"]
                    .as_i64()
                    .or_else(|| item["price"]["unit_amount_decimal"].as_str()?.parse().ok());
                let amount = unit.unwrap_or(0) * quantity.unwrap_or(1) as i64;
                let id = item["id"].as_str().unwrap_or("").to_string();
                prorations.push((share(amount, &item), "Remaining time".to_string(), id));
            }
            items.push(item);
        }
    }
    let mut total = 0;
    for item in &items {
        let price = &item["price"];
        let quantity = if price["recurring"]["usage_type"] == "metered" {
            let meter = price["recurring"]["meter"]
                .as_str()
                .and_then(|m| d.objects.get(m));
            let name = meter.map(|m| m["event_name"].clone()).unwrap_or_default();
            d.meter_events
                .iter()
                .filter(|e| {
                    e["event_name"] == name
                        && e["payload"]["stripe_customer_id"] == customer.as_str()
                })
                .filter_map(|e| e["payload"]["value"].as_str()?.parse::<i64>().ok())
                .sum()
        } else {
            item["quantity"].as_i64().unwrap_or(1)
        };
        if quantity == 0 {
            continue;
        }
        let decimal = || price["unit_amount_decimal"].as_str()?.parse::<i64>().ok();
        let Some(unit) = price["unit_amount"].as_i64().or_else(decimal) else {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                None,
                "This test server previews whole per-unit prices only.",
                None,
            );
        };
        total += unit * quantity;
    }
    let mut lines = Vec::new();
    for (amount, description, item) in prorations {
        total += amount;
        lines.push(json!({"id": next_id(d, "il"), "object": "line_item", "amount": amount, "currency": "usd",
            "description": description, "discountable": false, "discounts": [], "livemode": false,
            "metadata": {}, "period": {"start": at, "end": sub["items"]["data"][0]["current_period_end"]},
            "subtotal": amount,
            "parent": {"type": "subscription_item_details", "subscription_item_details": {
                "invoice_item": null, "proration": true, "subscription": sub["id"], "subscription_item": item}}}));
    }
    let mut preview = invoice("", Some(&customer), "charge_automatically", "draft", total);
    preview["id"] = Value::Null;
    preview["subscription"] = sub["id"].clone();
    preview["lines"]["data"] = json!(lines);
    ok(preview)
}

pub(super) fn invoice(
    id: &str,
    customer: Option<&str>,
    method: &str,
    status: &str,
    total: i64,
) -> Value {
    json!({"id": id, "object": "invoice", "amount_due": total, "amount_overpaid": 0, "amount_paid": 0,
        "amount_remaining": total, "amount_shipping": 0, "attempt_count": 0, "attempted": false,
        "automatic_tax": {"enabled": false}, "collection_method": method, "created": CREATED, "currency": "usd",
        "customer": customer, "default_tax_rates": [], "discounts": [], "issuer": {"type": "self"},
        "lines": {"object": "list", "data": [], "has_more": false, "url": format!("/v1/invoices/{id}/lines")},
        "livemode": false, "payment_settings": {}, "period_end": CREATED, "period_start": CREATED,
        "post_payment_credit_notes_amount": 0, "pre_payment_credit_notes_amount": 0, "starting_balance": 0,
        "status": status, "status_transitions": {}, "subtotal": total, "total": total,
        "number": null, "hosted_invoice_url": null, "invoice_pdf": null, "due_date": null})
}
