//! Errors a caller can act on: a stable code, one sentence saying what to fix, and optional
//! details. Storage failures become `internal_error` without leaking SQL.

use serde_json::{Map, Value};

use crate::core::CoreError;
use crate::store::StoreError;

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
        BillingError::new("invalid_params", e.to_string())
    }
}
