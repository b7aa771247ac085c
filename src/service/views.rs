//! What tools return: projections with the fields a person needs, money both as integer minor
//! units and as a readable string, times as RFC 3339.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

pub use crate::values::{Money, PageInfo};

use crate::core::period::{Span, rfc3339};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct PeriodView {
    pub start: String,
    pub end: String,
}

impl From<Span> for PeriodView {
    fn from(s: Span) -> PeriodView {
        PeriodView {
            start: rfc3339(s.start),
            end: rfc3339(s.end),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CustomerView {
    pub customer: String,
    pub name: Option<String>,
    pub email: Option<String>,
    /// The plan in force (the catalog's default plan when none was set).
    pub plan: Option<String>,
    pub interval: String,
    /// Subscription status with Stripe's names (active, trialing, past_due, canceled, …).
    pub status: String,
    pub delinquent: bool,
    pub current_period: Option<PeriodView>,
    pub trial_ends_at: Option<String>,
    pub stripe_customer_id: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub created_at: String,
    /// When delete_customer erased the customer (name, email and metadata are gone; its usage,
    /// credits and invoices stay); absent for a live customer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
}
