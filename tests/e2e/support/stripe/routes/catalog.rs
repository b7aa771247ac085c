//! Products, prices (Stripe's checks of a price form, lookup keys held by one price at a time)
//! and coupons.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::ok;
use crate::support::stripe::errors::{Reply, error, invalid, missing, param_missing};
use crate::support::stripe::state::{CREATED, Data, Form, list_page, next_id, store};

/// POST /v1/products
pub(super) fn create_product(d: &mut Data, f: &Form) -> Reply {
    let Some(name) = f.get("name") else {
        return param_missing("name");
    };
    let id = next_id(d, "prod");
    ok(store(
        d,
        "product",
        json!({"id": id, "object": "product", "active": true, "created": CREATED,
        "default_price": null, "description": f.get("description"), "images": [], "livemode": false,
        "marketing_features": [], "metadata": f.map("metadata"), "name": name, "package_dimensions": null,
        "shippable": null, "statement_descriptor": null, "tax_code": null, "type": "service",
        "unit_label": null, "updated": CREATED, "url": null}),
    ))
}

/// GET /v1/products
pub(super) fn list_products(d: &Data, q: &Form) -> Reply {
    let active = q.get("active").map(|a| a == "true");
    ok(list_page(d, "product", q, "/v1/products", |o| {
        active.is_none_or(|a| o["active"] == a)
    }))
}

/// POST /v1/prices
pub(super) fn create_price(d: &mut Data, f: &Form) -> Reply {
    let Some(product) = f.get("product") else {
        return param_missing("product");
    };
    if !d.objects.contains_key(product) {
        return missing("product", product, "product");
    }
    let tiers: Vec<Value> = f.list("tiers").iter().map(|t| json!({
        "up_to": t.get("up_to").and_then(|u| u.parse::<i64>().ok()),
        "unit_amount": t.get("unit_amount").and_then(|u| u.parse::<i64>().ok()),
        "unit_amount_decimal": t.get("unit_amount_decimal").cloned().or_else(|| t.get("unit_amount").cloned()),
        "flat_amount": t.get("flat_amount").and_then(|u| u.parse::<i64>().ok()),
        "flat_amount_decimal": t.get("flat_amount").cloned(),
    })).collect();
    let recurring = f.get("recurring[interval]").map(|i| {
        json!({
        "interval": i, "interval_count": f.int("recurring[interval_count]").unwrap_or(1),
        "meter": f.get("recurring[meter]"), "trial_period_days": null,
        "usage_type": f.get("recurring[usage_type]").unwrap_or("licensed")})
    });
    if let Some(e) = check_price_form(f) {
        return e;
    }
    if let Some(k) = f.get("lookup_key") {
        let holder = d
            .objects
            .values()
            .find(|o| o["object"] == "price" && o["lookup_key"] == k)
            .map(|o| o["id"].as_str().unwrap_or_default().to_string());
        if let Some(holder) = holder {
            if f.get("transfer_lookup_key") != Some("true") {
                return invalid(
                    &format!("A price ({holder}) already uses that lookup key."),
                    Some("lookup_key"),
                );
            }
            d.objects.get_mut(&holder).unwrap()["lookup_key"] = Value::Null;
        }
    }
    let id = next_id(d, "price");
    let transform = f.get("transform_quantity[divide_by]").map(|by| json!({"divide_by": by.parse::<i64>().unwrap_or(0), "round": f.get("transform_quantity[round]")}));
    let mut price = json!({"id": id, "object": "price", "active": true,
        "billing_scheme": f.get("billing_scheme").unwrap_or("per_unit"), "created": CREATED,
        "currency": f.get("currency"), "livemode": false, "lookup_key": f.get("lookup_key"),
        "metadata": f.map("metadata"), "nickname": f.get("nickname"), "product": product,
        "recurring": recurring, "tax_behavior": "unspecified", "tiers_mode": f.get("tiers_mode"),
        "transform_quantity": transform, "type": if f.get("recurring[interval]").is_some() { "recurring" } else { "one_time" },
        "unit_amount": f.int("unit_amount"),
        "unit_amount_decimal": f.get("unit_amount_decimal").or(f.get("unit_amount"))});
    if f.get("expand[0]") == Some("tiers") {
        price["tiers"] = json!(tiers);
    }
    ok(store(d, "price", price))
}

/// POST /v1/prices/{id}
pub(super) fn update_price(d: &mut Data, id: &str, f: &Form) -> Reply {
    let Some(mut price) = d.objects.get(id).cloned() else {
        return missing("price", id, "price");
    };
    if let Some(a) = f.get("active") {
        price["active"] = json!(a == "true");
    }
    let meta = f.map("metadata");
    if !meta.is_empty() {
        price["metadata"] = Value::Object(meta);
    }
    ok(store(d, "price", price))
}

/// POST /v1/products/{id}
pub(super) fn update_product(d: &mut Data, id: &str, f: &Form) -> Reply {
    let Some(mut product) = d.objects.get(id).cloned() else {
        return missing("product", id, "product");
    };
    for field in ["name", "description"] {
        if let Some(v) = f.get(field) {
            product[field] = json!(v);
        }
    }
    if let Some(a) = f.get("active") {
        product["active"] = json!(a == "true");
    }
    ok(store(d, "product", product))
}

/// GET /v1/prices
pub(super) fn list_prices(d: &Data, q: &Form) -> Reply {
    let product = q.get("product").map(String::from);
    let keys: Vec<String> =
        q.0.iter()
            .filter(|(k, _)| k.starts_with("lookup_keys["))
            .map(|(_, v)| v.clone())
            .collect();
    let active = q.get("active").map(|a| a == "true");
    ok(list_page(d, "price", q, "/v1/prices", |o| {
        active.is_none_or(|a| o["active"] == a)
            && product.as_ref().is_none_or(|p| o["product"] == p.as_str())
            && (keys.is_empty() || keys.iter().any(|k| o["lookup_key"] == k.as_str()))
    }))
}

/// POST /v1/coupons
pub(super) fn create_coupon(d: &mut Data, f: &Form) -> Reply {
    let id = f.get("id").map_or_else(|| next_id(d, "co"), String::from);
    if d.objects.contains_key(&id) {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("resource_already_exists"),
            "Coupon already exists.",
            Some("id"),
        );
    }
    let percent: Option<Value> = f
        .get("percent_off")
        .map(|p| serde_json::from_str(p).unwrap());
    ok(store(
        d,
        "coupon",
        json!({"id": id, "object": "coupon", "amount_off": f.int("amount_off"),
        "created": CREATED, "currency": f.get("currency"), "duration": f.get("duration").unwrap_or("once"),
        "duration_in_months": f.int("duration_in_months"), "livemode": false,
        "max_redemptions": f.int("max_redemptions"), "metadata": f.map("metadata"), "name": f.get("name"),
        "percent_off": percent, "redeem_by": null, "times_redeemed": 0, "valid": true}),
    ))
}

/// Refuse a price form Stripe would refuse: a metered price without a meter, tiers out of order or without an unbounded last tier, more than 12 decimals.
fn check_price_form(f: &Form) -> Option<Reply> {
    let bad = |message: &str, param: &str| Some(invalid(message, Some(param)));
    if f.get("recurring[usage_type]") == Some("metered") && f.get("recurring[meter]").is_none() {
        return bad(
            "Metered prices must be backed by a meter: pass recurring[meter].",
            "recurring[meter]",
        );
    }
    let decimals = |v: &str| v.split_once('.').map_or(0, |(_, frac)| frac.len());
    let mut amounts: Vec<&str> =
        f.0.iter()
            .filter(|(k, _)| k.ends_with("unit_amount_decimal]") || k == "unit_amount_decimal")
            .map(|(_, v)| v.as_str())
            .collect();
    amounts.retain(|v| decimals(v) > 12);
    if !amounts.is_empty() {
        return bad(
            "unit_amount_decimal allows at most 12 decimal places.",
            "unit_amount_decimal",
        );
    }
    if f.get("billing_scheme") == Some("tiered") {
        let raw = f.list("tiers");
        if raw.len() < 2 {
            return bad("Tiered prices need at least two tiers.", "tiers");
        }
        let mut previous = 0;
        for (i, t) in raw.iter().enumerate() {
            match t.get("up_to").map(String::as_str) {
                Some("inf") if i + 1 == raw.len() => {}
                Some("inf") | None => {
                    return bad("Only the last tier may have up_to=inf.", "tiers");
                }
                Some(u) => {
                    let u: i64 = u.parse().unwrap_or(0);
                    if i + 1 == raw.len() {
                        return bad("The last tier must have up_to=inf.", "tiers");
                    }
                    if u <= previous {
                        return bad("Tiers must be in ascending order of up_to.", "tiers");
                    }
                    previous = u;
                }
            }
        }
    }
    None
}
