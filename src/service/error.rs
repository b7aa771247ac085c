//! Errors a caller can act on: a stable code, one sentence saying what to fix, and optional
//! details. Storage failures become `internal_error` without leaking SQL.

use serde_json::{Map, Value, json};

use crate::access::Forbidden;
use crate::core::CoreError;
use crate::store::StoreError;
use crate::stripe::{Error as StripeError, ErrorKind};

#[derive(Debug, Clone, PartialEq)]
pub struct BillingError {
    /// Stable machine-readable code (an API: never renamed).
    pub code: &'static str,
    /// What went wrong and what to do next.
    pub message: String,
    pub details: Map<String, Value>,
}

impl std::fmt::Display for BillingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for BillingError {}

impl BillingError {
    pub fn new(code: &'static str, message: impl Into<String>) -> BillingError {
        BillingError {
            code,
            message: message.into(),
            details: Map::new(),
        }
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> BillingError {
        self.details.insert(key.to_string(), value.into());
        self
    }

    pub fn invalid(message: impl Into<String>) -> BillingError {
        BillingError::new("invalid_params", message)
    }

    /// A call that cannot be undone, made without `confirm: true`.
    pub fn confirmation_required() -> BillingError {
        BillingError::new(
            "confirmation_required",
            "this call cannot be undone: confirm it with the user, then call again with confirm: true",
        )
    }

    /// A write for a customer `delete_customer` erased (its id stays taken by its records).
    pub fn customer_deleted(id: &str, deleted_at: i64) -> BillingError {
        let at = crate::core::period::rfc3339(deleted_at);
        BillingError::new(
            "customer_deleted",
            format!("customer `{id}` was deleted at {at}: it takes no new usage, credits, keys or changes, and its id stays with its records; bill someone new under a new customer id"),
        )
        .with("customer", id)
        .with("deleted_at", at)
    }

    pub fn unknown_customer(id: &str) -> BillingError {
        BillingError::new(
            "unknown_customer",
            format!("no customer `{id}` in the ledger; create it with create_customer or check the id with list_customers"),
        )
        .with("customer", id)
    }
}

impl From<StoreError> for BillingError {
    fn from(e: StoreError) -> BillingError {
        if matches!(e, StoreError::UnknownCursor) {
            return BillingError::invalid(
                "starting_after is not a cursor of this list; pass a next_cursor this list returned with the same filters, or leave starting_after out for the first page",
            );
        }
        tracing::error!(error = %e, "ledger failure");
        BillingError::new(
            "internal_error",
            "the ledger could not complete the request; nothing was changed, retry it with the same idempotency_key",
        )
    }
}

impl From<CoreError> for BillingError {
    fn from(e: CoreError) -> BillingError {
        match e {
            CoreError::Overflow => BillingError::new(
                "amount_out_of_range",
                format!(
                    "a total would be more than the ledger can hold ({} minor units): no real bill \
                     is that large, so a quantity recorded or asked for is wrong; check the usage \
                     (get_usage) and the quantity",
                    i64::MAX
                ),
            ),
            other => BillingError::new("invalid_params", other.to_string()),
        }
    }
}

impl From<Forbidden> for BillingError {
    fn from(e: Forbidden) -> BillingError {
        let error = BillingError::new(e.code(), e.message);
        match e.role {
            Some(role) => error.with("role", role.as_str()),
            None => error,
        }
    }
}

impl From<StripeError> for BillingError {
    /// A Stripe failure as a tool error: Stripe's own words, how many attempts were made, and
    /// the next step.
    fn from(e: StripeError) -> BillingError {
        let attempts = e.attempts;
        match e.kind {
            ErrorKind::Invalid(m) => BillingError::invalid(m),
            ErrorKind::Refused(r) => {
                let mut said = format!("Stripe refused the request (HTTP {}, {}", r.status, r.kind);
                if let Some(c) = &r.code {
                    said.push_str(&format!(", {c}"));
                }
                said.push_str(&format!("): {}", r.message));
                if let Some(p) = &r.param {
                    said.push_str(&format!(" [param `{p}`]"));
                }
                if let Some(id) = &r.request_id {
                    said.push_str(&format!(" [request {id}]"));
                }
                if attempts > 1 {
                    said.push_str(&format!(" after {attempts} attempts"));
                }
                said.push_str("; ");
                said.push_str(next_step(r.status, &r.kind, r.code.as_deref()));
                let detail = json!({
                    "type": r.kind,
                    "code": r.code,
                    "decline_code": r.decline_code,
                    "message": r.message,
                    "param": r.param,
                    "request_id": r.request_id,
                    "status": r.status,
                    "doc_url": r.doc_url,
                });
                BillingError::new("stripe_error", said).with("stripe", detail)
            }
            ErrorKind::Unreachable { base, detail } => BillingError::new(
                "stripe_unreachable",
                format!(
                    "could not reach Stripe at {base} after {attempts} attempts ({detail}); retry later with the same idempotency_key, which cannot create twice"
                ),
            ),
            ErrorKind::Unreadable(m) => BillingError::new(
                "stripe_unexpected_response",
                format!(
                    "Stripe answered in a shape this server cannot read ({m}); the request may have taken effect: retry with the same idempotency_key to get its result, or check the Stripe dashboard"
                ),
            ),
            ErrorKind::Misconfigured(m) => BillingError::new(
                "stripe_not_configured",
                format!("the Stripe client is misconfigured: {m}"),
            ),
        }
    }
}

/// What to do about Stripe's refusal.
fn next_step(status: u16, kind: &str, code: Option<&str>) -> &'static str {
    match (status, kind, code) {
        (_, "card_error", _) => "the payment method was declined; ask the customer for another one",
        (401, ..) => {
            "Stripe did not accept STRIPE_SECRET_KEY; check the key and restart the server"
        }
        (403, ..) => {
            "the key may not do this; a restricted key needs this resource's permission in the Stripe dashboard"
        }
        (404, ..) | (_, _, Some("resource_missing")) => {
            "check the id (list tools show the ids that exist)"
        }
        (_, "idempotency_error", _) => {
            "this idempotency_key was already used with different arguments; use a new key for a new request"
        }
        (429, ..) => {
            "Stripe is rate limiting this account; retry later with the same idempotency_key"
        }
        (500..=599, ..) => {
            "Stripe failed; retry later with the same idempotency_key (a retry cannot create twice)"
        }
        _ => "fix the argument Stripe names and call again",
    }
}
