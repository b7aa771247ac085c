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

/// POST /v1/invoices/create_preview (customer and subscription; nothing is stored)
pub(super) fn preview_invoice(d: &mut Data, f: &Form) -> Reply {
    let Some(sub) = f.get("subscription").and_then(|s| d.objects.get(s)) else {
        return missing(
            "subscription",
            f.get("subscription").unwrap_or(""),
            "subscription",
        );
    };
    let customer = f.get("customer").unwrap_or_default();
    let mut total = 0;
    for item in sub["items"]["data"].as_array().into_iter().flatten() {
        let price = &item["price"];
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
        let quantity = if price["recurring"]["usage_type"] == "metered" {
            let meter = price["recurring"]["meter"]
                .as_str()
                .and_then(|m| d.objects.get(m));
            let name = meter.map(|m| m["event_name"].clone()).unwrap_or_default();
            d.meter_events
                .iter()
                .filter(|e| {
                    e["event_name"] == name && e["payload"]["stripe_customer_id"] == customer
                })
                .filter_map(|e| e["payload"]["value"].as_str()?.parse::<i64>().ok())
                .sum()
        } else {
            item["quantity"].as_i64().unwrap_or(1)
        };
        total += unit * quantity;
    }
    let mut preview = invoice("", Some(customer), "charge_automatically", "draft", total);
    preview["id"] = Value::Null;
    preview["subscription"] = sub["id"].clone();
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
