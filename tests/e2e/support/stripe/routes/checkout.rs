//! Selling: payment links (quantities, no metered prices), Checkout sessions and billing portal
//! sessions.

use serde_json::json;

use super::ok;
use crate::support::stripe::errors::{Reply, invalid, missing, param_missing};
use crate::support::stripe::state::{CREATED, Data, Form, next_id, store};

/// POST /v1/payment_links
pub(super) fn create_payment_link(d: &mut Data, f: &Form) -> Reply {
    let items = f.list("line_items");
    if items.is_empty() {
        return param_missing("line_items");
    }
    for item in &items {
        let price = item.get("price").map(String::as_str).unwrap_or_default();
        let Some(found) = d.objects.get(price) else {
            return missing("price", price, "line_items[0][price]");
        };
        if found["recurring"]["usage_type"] == "metered" || item.get("quantity").is_none() {
            return invalid(
                "Each line item needs a quantity, and a metered price cannot be sold with a quantity.",
                Some("line_items"),
            );
        }
    }
    let id = next_id(d, "plink");
    let url = format!("https://buy.stripe.com/test_{}", &id[6..]);
    let redirect = f.get("after_completion[redirect][url]");
    ok(store(
        d,
        "payment_link",
        json!({"id": id, "object": "payment_link", "active": true,
        "after_completion": if let Some(u) = redirect { json!({"type": "redirect", "redirect": {"url": u}}) } else { json!({"type": "hosted_confirmation", "hosted_confirmation": {"custom_message": null}}) },
        "allow_promotion_codes": false, "automatic_tax": {"enabled": false, "liability": null},
        "billing_address_collection": "auto", "currency": "usd", "custom_fields": [], "custom_text": {},
        "customer_creation": "if_required", "livemode": false, "metadata": f.map("metadata"),
        "payment_method_collection": "always", "phone_number_collection": {"enabled": false},
        "shipping_options": [], "submit_type": "auto", "tax_id_collection": {"enabled": false, "required": "never"},
        "url": url}),
    ))
}

/// POST /v1/checkout/sessions
pub(super) fn create_checkout_session(d: &mut Data, f: &Form) -> Reply {
    let id = next_id(d, "cs");
    ok(store(
        d,
        "checkout_session",
        json!({"id": id, "object": "checkout.session",
        "automatic_tax": {"enabled": false}, "created": CREATED, "custom_fields": [], "custom_text": {},
        "expires_at": CREATED + 86_400, "livemode": false, "mode": f.get("mode"),
        "payment_method_types": ["card"], "payment_status": "unpaid", "shipping_options": [],
        "status": "open", "customer": f.get("customer"), "client_reference_id": f.get("client_reference_id"),
        "metadata": f.map("metadata"), "amount_total": null, "currency": null,
        "url": format!("https://checkout.stripe.com/c/pay/{id}")}),
    ))
}

/// POST /v1/billing_portal/sessions
pub(super) fn create_portal_session(d: &mut Data, f: &Form) -> Reply {
    let Some(customer) = f.get("customer") else {
        return param_missing("customer");
    };
    let id = next_id(d, "bps");
    ok(
        json!({"id": id, "object": "billing_portal.session", "configuration": "bpc_test", "created": CREATED,
        "customer": customer, "livemode": false, "return_url": f.get("return_url"),
        "url": format!("https://billing.stripe.com/p/session/{id}")}),
    )
}
