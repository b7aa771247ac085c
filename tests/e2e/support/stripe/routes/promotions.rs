//! Promotion codes (API 2026-09-30: `promotion[type]=coupon` and `promotion[coupon]`): created on
//! an existing coupon, unique among active codes whatever the case, listed by code, coupon,
//! customer and active, their coupon expanded when asked; and the check Stripe makes when a code
//! is redeemed (active, not expired, redemptions left), in Stripe's words.

use serde_json::{Value, json};

use super::ok;
use crate::support::stripe::errors::{Reply, invalid, missing, param_missing};
use crate::support::stripe::state::{CREATED, Data, Form, list_page, next_id, store};

/// POST /v1/promotion_codes
pub(super) fn create_promotion_code(d: &mut Data, f: &Form) -> Reply {
    if f.get("promotion[type]") != Some("coupon") {
        return param_missing("promotion[type]");
    }
    let Some(coupon) = f.get("promotion[coupon]") else {
        return param_missing("promotion[coupon]");
    };
    if !d.objects.contains_key(coupon) {
        return missing("coupon", coupon, "promotion[coupon]");
    }
    let id = next_id(d, "promo");
    let code = f
        .get("code")
        .map(String::from)
        .unwrap_or_else(|| format!("CODE{}", &id[10..]));
    let taken = d.order.get("promotion_code").is_some_and(|ids| {
        ids.iter().any(|i| {
            let o = &d.objects[i];
            o["active"] == true && o["code"].as_str().unwrap_or("").eq_ignore_ascii_case(&code)
        })
    });
    if taken {
        return invalid(
            &format!("An active promotion code with `code: {code}` already exists."),
            Some("code"),
        );
    }
    let promo = json!({
        "id": id, "object": "promotion_code", "active": f.get("active") != Some("false"),
        "code": code, "created": CREATED, "customer": f.get("customer"),
        "expires_at": f.int("expires_at"), "livemode": false,
        "max_redemptions": f.int("max_redemptions"), "metadata": f.map("metadata"),
        "promotion": {"type": "coupon", "coupon": coupon},
        "restrictions": {
            "first_time_transaction": f.get("restrictions[first_time_transaction]") == Some("true"),
            "minimum_amount": f.int("restrictions[minimum_amount]"),
            "minimum_amount_currency": f.get("restrictions[minimum_amount_currency]"),
        },
        "times_redeemed": 0
    });
    store(d, "promotion_code", promo.clone());
    ok(expanded(d, promo, f, "expand[0]", "promotion.coupon"))
}

/// GET /v1/promotion_codes
pub(super) fn list_promotion_codes(d: &Data, q: &Form) -> Reply {
    let code = q.get("code");
    let coupon = q.get("coupon");
    let customer = q.get("customer");
    let active = q.get("active").map(|a| a == "true");
    let mut page = list_page(d, "promotion_code", q, "/v1/promotion_codes", |o| {
        code.is_none_or(|c| o["code"].as_str().unwrap_or("").eq_ignore_ascii_case(c))
            && coupon.is_none_or(|c| o["promotion"]["coupon"] == c)
            && customer.is_none_or(|c| o["customer"] == c)
            && active.is_none_or(|a| o["active"] == a)
    });
    if let Some(items) = page["data"].as_array_mut() {
        for item in items.iter_mut() {
            *item = expanded(d, item.clone(), q, "expand[0]", "data.promotion.coupon");
        }
    }
    ok(page)
}

/// GET /v1/promotion_codes/{id}
pub(super) fn get_promotion_code(d: &Data, id: &str, q: &Form) -> Reply {
    match d.objects.get(id) {
        Some(p) => ok(expanded(d, p.clone(), q, "expand[0]", "promotion.coupon")),
        None => missing("promotion_code", id, "promotion_code"),
    }
}

/// The code with its coupon in place of the coupon's id, when `field` asks for `path`.
fn expanded(d: &Data, mut promo: Value, f: &Form, field: &str, path: &str) -> Value {
    if f.get(field) == Some(path)
        && let Some(coupon) = promo["promotion"]["coupon"].as_str()
        && let Some(found) = d.objects.get(coupon)
    {
        promo["promotion"]["coupon"] = found.clone();
    }
    promo
}

/// Redeem promotion code `id` for `customer` at `now` (epoch seconds): its coupon id, or Stripe's
/// refusal.
pub(super) fn redeem(d: &mut Data, id: &str, param: &str, now: i64) -> Result<String, Reply> {
    let Some(promo) = d.objects.get(id).cloned() else {
        return Err(missing("promotion_code", id, param));
    };
    let refuse = |why: &str| {
        Err(invalid(
            &format!("This promotion code cannot be redeemed because {why}."),
            Some(param),
        ))
    };
    if promo["active"] != true {
        return refuse("it is inactive");
    }
    if promo["expires_at"].as_i64().is_some_and(|at| at <= now) {
        return refuse("it has expired");
    }
    if let Some(max) = promo["max_redemptions"].as_i64()
        && promo["times_redeemed"].as_i64().unwrap_or(0) >= max
    {
        return refuse("it has reached its maximum number of redemptions");
    }
    let mut used = promo.clone();
    used["times_redeemed"] = json!(promo["times_redeemed"].as_i64().unwrap_or(0) + 1);
    store(d, "promotion_code", used);
    Ok(promo["promotion"]["coupon"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}
