//! Every tool, one file each; `all()` has one registration line per tool.

pub mod check_entitlement;
pub mod create_api_key;
pub mod create_customer;
pub mod get_audit_log;
pub mod get_billing_status;
pub mod get_credit_balance;
pub mod get_customer;
pub mod get_usage;
pub mod grant_credits;
pub mod list_api_keys;
pub mod list_customers;
pub mod list_plans;
pub mod preview_invoice;
pub mod quote_price;
pub mod record_usage;
pub mod record_usage_batch;
pub mod revoke_api_key;
pub mod rotate_api_key;
pub mod set_customer_plan;

use super::registry::Registry;

/// The full registry, before any toolset or read-only filter.
pub fn all() -> Registry {
    let mut r = Registry::default();
    r.add::<record_usage::Tool>();
    r.add::<record_usage_batch::Tool>();
    r.add::<check_entitlement::Tool>();
    r.add::<get_usage::Tool>();
    r.add::<quote_price::Tool>();
    r.add::<grant_credits::Tool>();
    r.add::<get_credit_balance::Tool>();
    r.add::<create_customer::Tool>();
    r.add::<get_customer::Tool>();
    r.add::<list_customers::Tool>();
    r.add::<set_customer_plan::Tool>();
    r.add::<get_billing_status::Tool>();
    r.add::<list_plans::Tool>();
    r.add::<preview_invoice::Tool>();
    r.add::<get_audit_log::Tool>();
    r.add::<create_api_key::Tool>();
    r.add::<list_api_keys::Tool>();
    r.add::<rotate_api_key::Tool>();
    r.add::<revoke_api_key::Tool>();
    r
}
