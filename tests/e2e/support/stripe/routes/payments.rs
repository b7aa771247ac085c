//! Customers (created, changed, deleted), the balance, refunds of payment intents (never more
//! than was paid), and disputes answered with evidence.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::ok;
use crate::support::stripe::errors::{Reply, error, missing, param_missing};
use crate::support::stripe::state::{CREATED, Data, Form, next_id, store};

/// POST /v1/customers
pub(super) fn create_customer(d: &mut Data, f: &Form) -> Reply {
    let id = next_id(d, "cus");
    ok(store(
        d,
        "customer",
        json!({"id": id, "object": "customer", "created": CREATED, "livemode": false,
        "name": f.get("name"), "email": f.get("email"), "metadata": f.map("metadata")}),
    ))
}

/// POST /v1/customers/{id}: the form's fields set; an empty name or email clears it and a
/// `metadata[k]` with an empty value removes `k`, as Stripe does. A deleted customer is gone (404).
pub(super) fn update_customer(d: &mut Data, id: &str, f: &Form) -> Reply {
    let Some(mut customer) = d
        .objects
        .get(id)
        .filter(|o| o["object"] == "customer")
        .cloned()
    else {
        return missing("customer", id, "id");
    };
    for field in ["name", "email"] {
        if let Some(v) = f.get(field) {
            customer[field] = if v.is_empty() { Value::Null } else { json!(v) };
        }
    }
    let mut metadata = customer["metadata"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for (k, v) in f.map("metadata") {
        if v == "" {
            metadata.remove(&k);
        } else {
            metadata.insert(k, v);
        }
    }
    customer["metadata"] = Value::Object(metadata);
    if let Some(pm) = f.get("invoice_settings[default_payment_method]") {
        customer["invoice_settings"] = json!({"default_payment_method": pm});
    }
    ok(store(d, "customer", customer))
}

/// DELETE /v1/customers/{id}: Stripe's deleted stub; afterwards the customer is gone (404
/// `resource_missing`, as Stripe answers a second delete).
pub(super) fn delete_customer(d: &mut Data, id: &str) -> Reply {
    if d.objects.get(id).is_none_or(|o| o["object"] != "customer") {
        return missing("customer", id, "id");
    }
    d.objects.remove(id);
    if let Some(ids) = d.order.get_mut("customer") {
        ids.retain(|c| c != id);
    }
    ok(json!({"id": id, "object": "customer", "deleted": true}))
}

/// GET /v1/balance
pub(super) fn balance() -> Reply {
    ok(json!({"object": "balance", "livemode": false,
        "available": [{"amount": 123_456, "currency": "usd", "source_types": {"card": 123_456}}],
        "pending": [{"amount": 7_890, "currency": "usd", "source_types": {"card": 7_890}}]}))
}

/// POST /v1/refunds
pub(super) fn create_refund(d: &mut Data, f: &Form) -> Reply {
    let Some(pi) = f.get("payment_intent") else {
        return param_missing("payment_intent");
    };
    let Some(intent) = d.objects.get(pi).cloned() else {
        return missing("payment_intent", pi, "payment_intent");
    };
    let already = d.refunded.get(pi).copied().unwrap_or(0);
    let left = intent["amount"].as_i64().unwrap_or(0) - already;
    let amount = f.int("amount").unwrap_or(left);
    if amount > left || left == 0 {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("amount_too_large"),
            &format!(
                "Refund amount ({amount}) is greater than unrefunded amount on charge ({left})"
            ),
            Some("amount"),
        );
    }
    d.refunded.insert(pi.to_string(), already + amount);
    let id = next_id(d, "re");
    ok(store(
        d,
        "refund",
        json!({"id": id, "object": "refund", "amount": amount, "balance_transaction": null,
        "charge": intent["latest_charge"], "created": CREATED, "currency": "usd", "metadata": f.map("metadata"),
        "payment_intent": pi, "reason": f.get("reason"), "receipt_number": null, "source_transfer_reversal": null,
        "status": "succeeded", "transfer_reversal": null}),
    ))
}

/// POST /v1/disputes/{id}
pub(super) fn update_dispute(d: &mut Data, id: &str, f: &Form) -> Reply {
    let Some(mut dispute) = d.objects.get(id).cloned() else {
        return missing("dispute", id, "dispute");
    };
    if f.0.iter().any(|(k, _)| k.starts_with("evidence[")) {
        dispute["evidence_details"]["has_evidence"] = json!(true);
    }
    if f.get("submit") == Some("true") {
        dispute["status"] = json!("under_review");
        dispute["evidence_details"]["submission_count"] = json!(1);
    }
    ok(store(d, "dispute", dispute))
}
