//! The Stripe test server's route table: each method and path to the resource module that answers
//! it (catalog, checkout, invoices, meters, payments, promotions, subscribe, subscriptions; the v2 meter event stream is
//! answered from `stream` by the handler, which also checks its token); anything else is Stripe's 404.

mod catalog;
mod checkout;
mod invoices;
mod meters;
mod payments;
mod promotions;
pub(super) mod stream;
pub(in crate::support::stripe) mod subscribe;
pub(super) mod subscriptions;

use axum::http::{Method, StatusCode};
use serde_json::Value;

use super::errors::{Reply, error};
use super::state::{Data, Form, list_matching, list_page};

/// 200 with `v`.
fn ok(v: Value) -> Reply {
    (StatusCode::OK, v)
}

pub(super) fn route(d: &mut Data, method: &Method, path: &str, f: &Form, q: &Form) -> Reply {
    let parts: Vec<&str> = path.trim_start_matches("/v1/").split('/').collect();
    match (method.as_str(), parts.as_slice()) {
        ("POST", ["customers"]) => payments::create_customer(d, f),
        ("GET", ["customers", id]) => subscribe::get_customer(d, id),
        ("GET", ["customers", id, "payment_methods"]) => subscribe::list_payment_methods(d, id, q),
        ("POST", ["subscriptions"]) => subscribe::create_subscription(d, f),
        ("POST", ["setup_intents"]) => subscribe::create_setup_intent(d, f),
        ("GET", ["setup_intents", id]) => subscribe::get_setup_intent(d, id),
        ("POST", ["tax_ids"]) => subscribe::create_tax_id(d, f),
        ("GET", ["tax_ids"]) => subscribe::list_tax_ids(d, q),
        ("POST", ["promotion_codes"]) => promotions::create_promotion_code(d, f),
        ("GET", ["promotion_codes"]) => promotions::list_promotion_codes(d, q),
        ("GET", ["promotion_codes", id]) => promotions::get_promotion_code(d, id, q),
        ("POST", ["customers", id]) => payments::update_customer(d, id, f),
        ("DELETE", ["customers", id]) => payments::delete_customer(d, id),
        ("POST", ["products"]) => catalog::create_product(d, f),
        ("GET", ["products"]) => catalog::list_products(d, q),
        ("POST", ["prices"]) => catalog::create_price(d, f),
        ("POST", ["prices", id]) => catalog::update_price(d, id, f),
        ("POST", ["products", id]) => catalog::update_product(d, id, f),
        ("GET", ["prices"]) => catalog::list_prices(d, q),
        ("POST", ["payment_links"]) => checkout::create_payment_link(d, f),
        ("POST", ["checkout", "sessions"]) => checkout::create_checkout_session(d, f),
        ("POST", ["billing_portal", "sessions"]) => checkout::create_portal_session(d, f),
        ("POST", ["invoices"]) => invoices::create_invoice(d, f),
        ("POST", ["invoices", "create_preview"]) => invoices::preview_invoice(d, f),
        ("POST", ["invoices", id, "finalize"]) => invoices::finalize_invoice(d, id),
        ("GET", ["invoices"]) => ok(list_matching(d, "invoice", q, "/v1/invoices", "customer")),
        ("POST", ["invoiceitems"]) => invoices::create_invoice_item(d, f),
        ("GET", ["balance"]) => payments::balance(),
        ("POST", ["refunds"]) => payments::create_refund(d, f),
        ("GET", ["payment_intents"]) => ok(list_matching(
            d,
            "payment_intent",
            q,
            "/v1/payment_intents",
            "customer",
        )),
        ("GET", ["subscriptions"]) => ok(list_matching(
            d,
            "subscription",
            q,
            "/v1/subscriptions",
            "customer",
        )),
        ("POST", ["subscriptions", id]) => subscriptions::update_subscription(d, id, f),
        ("DELETE", ["subscriptions", id]) => subscriptions::cancel_subscription(d, id),
        ("POST", ["coupons"]) => catalog::create_coupon(d, f),
        ("GET", ["coupons"]) => ok(list_page(d, "coupon", q, "/v1/coupons", |_| true)),
        ("GET", ["disputes"]) => ok(list_matching(
            d,
            "dispute",
            q,
            "/v1/disputes",
            "payment_intent",
        )),
        ("POST", ["disputes", id]) => payments::update_dispute(d, id, f),
        ("POST", ["billing", "meters", id]) => meters::update_meter(d, id, f),
        ("POST", ["billing", "meters"]) => meters::create_meter(d, f),
        ("POST", ["billing", "meter_events"]) => meters::create_meter_event(d, f),
        ("GET", ["billing", "meters", id, "event_summaries"]) => meters::event_summaries(d, id, q),
        ("GET", ["billing", "meters"]) => {
            ok(list_page(d, "meter", q, "/v1/billing/meters", |_| true))
        }
        _ => error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            None,
            &format!("Unrecognized request URL ({method}: {path})."),
            None,
        ),
    }
}
