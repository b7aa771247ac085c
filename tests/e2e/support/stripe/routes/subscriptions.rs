//! Subscriptions: items added, changed and deleted (active prices only, no quantity on a metered
//! item, at most 20 items), and cancellation.

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::ok;
use crate::support::stripe::errors::{Reply, error, invalid, missing};
use crate::support::stripe::state::{CREATED, Data, Form, next_id, store};

/// POST /v1/subscriptions/{id}
pub(super) fn update_subscription(d: &mut Data, id: &str, f: &Form) -> Reply {
    let Some(mut sub) = d.objects.get(id).cloned() else {
        return missing("subscription", id, "subscription");
    };
    if let Some(at_end) = f.get("cancel_at_period_end") {
        sub["cancel_at_period_end"] = json!(at_end == "true");
    }
    let changes = f.list("items");
    for (n, change) in changes.iter().enumerate() {
        let meta: Map<String, Value> = change
            .iter()
            .filter_map(|(k, v)| {
                let key = k.strip_prefix("metadata][")?;
                Some((key.to_string(), json!(v)))
            })
            .collect();
        let price = match change.get("price") {
            Some(p) => match item_price(d, p) {
                Ok(p) => Some(p),
                Err(e) => return e,
            },
            None => None,
        };
        if let Some(item_id) = change.get("id") {
            let items = sub["items"]["data"].as_array_mut().unwrap();
            if !items.iter().any(|i| i["id"] == item_id.as_str()) {
                return missing("subscription_item", item_id, &format!("items[{n}][id]"));
            }
            if change.get("deleted").map(String::as_str) == Some("true") {
                items.retain(|i| i["id"] != item_id.as_str());
                continue;
            }
            for i in items.iter_mut().filter(|i| i["id"] == item_id.as_str()) {
                if let Some(q) = change.get("quantity") {
                    i["quantity"] = json!(q.parse::<u64>().unwrap_or(1));
                }
                if let Some(p) = &price {
                    i["price"] = p.clone();
                    i["plan"]["id"] = p["id"].clone();
                }
                if !meta.is_empty() {
                    i["metadata"] = Value::Object(meta.clone());
                }
            }
        } else if let Some(p) = price {
            let metered = p["recurring"]["usage_type"] == "metered";
            if metered && change.contains_key("quantity") {
                return invalid(
                    &format!(
                        "Quantity should not be specified where usage_type is `metered`. Remove quantity from `items[{n}]`."
                    ),
                    Some("items"),
                );
            }
            let quantity = (!metered).then(|| {
                change
                    .get("quantity")
                    .and_then(|q| q.parse().ok())
                    .unwrap_or(1)
            });
            let mut item = subscription_item(d, id, p, quantity);
            item["metadata"] = Value::Object(meta);
            sub["items"]["data"].as_array_mut().unwrap().push(item);
        }
    }
    if sub["items"]["data"].as_array().map_or(0, Vec::len) > 20 {
        return invalid("A subscription can have at most 20 items.", Some("items"));
    }
    // Stripe merges metadata keys; an empty value removes one.
    for (k, v) in f.map("metadata") {
        match v.as_str() {
            Some("") => {
                sub["metadata"].as_object_mut().map(|m| m.remove(&k));
            }
            _ => sub["metadata"][k] = v,
        }
    }
    ok(store(d, "subscription", sub))
}

/// DELETE /v1/subscriptions/{id}
pub(super) fn cancel_subscription(d: &mut Data, id: &str) -> Reply {
    let Some(mut sub) = d.objects.get(id).cloned() else {
        return missing("subscription", id, "subscription");
    };
    if sub["status"] == "canceled" {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("resource_missing"),
            &format!("No such subscription: '{id}'"),
            None,
        );
    }
    sub["status"] = json!("canceled");
    sub["canceled_at"] = json!(CREATED);
    ok(store(d, "subscription", sub))
}

pub(in crate::support::stripe) fn subscription_item(
    d: &mut Data,
    sub: &str,
    price: Value,
    quantity: Option<u64>,
) -> Value {
    let id = next_id(d, "si");
    let interval = price["recurring"]["interval"]
        .as_str()
        .unwrap_or("month")
        .to_string();
    let usage = price["recurring"]["usage_type"]
        .as_str()
        .unwrap_or("licensed")
        .to_string();
    json!({
        "id": id, "object": "subscription_item", "created": CREATED,
        "current_period_start": CREATED, "current_period_end": CREATED + 30 * 86_400,
        "discounts": [], "metadata": {}, "quantity": quantity, "subscription": sub,
        "plan": {"id": price["id"], "object": "plan", "active": true, "billing_scheme": price["billing_scheme"],
                 "created": CREATED, "currency": "usd", "interval": interval, "interval_count": 1,
                 "livemode": false, "usage_type": usage, "amount": price["unit_amount"]},
        "price": price
    })
}

/// The price of a subscription item change: it must exist and be active.
fn item_price(d: &Data, id: &str) -> Result<Value, Reply> {
    match d.objects.get(id) {
        Some(p) if p["active"] == true => Ok(p.clone()),
        Some(_) => Err(invalid(
            &format!(
                "The price specified is inactive. This field only accepts active prices: {id}"
            ),
            Some("items"),
        )),
        None => Err(missing("price", id, "items[0][price]")),
    }
}
