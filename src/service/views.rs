//! What tools return: projections with the fields a person needs, money both as integer minor
//! units and as a readable string, times as RFC 3339.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use crate::core::period::{Span, rfc3339};
use crate::core::{Currency, MinorUnits};

/// An amount of money.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Money {
    /// Integer minor units (cents for usd).
    pub amount: i64,
    pub currency: String,
    /// The amount in major units, e.g. "29.00".
    pub display: String,
}

impl Money {
    pub fn new(amount: MinorUnits, currency: Currency) -> Money {
        Money {
            amount: amount.0,
            currency: currency.code().into(),
            display: currency.format(amount),
        }
    }
}

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
}

/// A page of a list: `next_cursor` goes into `starting_after` for the next page.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PageInfo {
    pub has_more: bool,
    pub next_cursor: Option<String>,
}

impl PageInfo {
    /// Rows were read with `limit + 1`: keep `limit`, and say whether more follow and from where.
    pub fn cut<T>(rows: &mut Vec<T>, limit: i64, cursor: impl Fn(&T) -> String) -> PageInfo {
        let limit = usize::try_from(limit).unwrap_or(0);
        let has_more = rows.len() > limit;
        rows.truncate(limit);
        PageInfo {
            has_more,
            next_cursor: if has_more {
                rows.last().map(cursor)
            } else {
                None
            },
        }
    }
}
