//! `adjust_credits`: add credits or take them back (a refunded pack, a goodwill correction).

use schemars::JsonSchema;
use serde::Deserialize;

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::credits::{self, AdjustInput, AdjustResult};
use crate::service::{App, BillingError};
use crate::values::{CustomerId, IdempotencyKey, Text, Token};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub customer: CustomerId,
    /// Positive to add credits, negative to take them back (never below a zero balance); at
    /// most 10^12 either way.
    #[schemars(range(min = -1_000_000_000_000i64, max = 1_000_000_000_000i64))]
    pub credits: Option<i64>,
    /// Take back from this grant only (get_credit_balance lists them); without `credits`, all it
    /// still holds (e.g. a refunded credit pack).
    pub grant_id: Option<Token>,
    /// Why, kept in the ledger (e.g. "refund of re_123", "goodwill for the outage").
    pub reason: Text,
    /// A retry with the same key changes nothing again.
    pub idempotency_key: Option<IdempotencyKey>,
}

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "adjust_credits";
    const TITLE: &'static str = "Adjust credits";
    const DESCRIPTION: &'static str = include_str!("../../../tools/adjust_credits.md");
    const TOOLSET: Toolset = Toolset::Credits;
    const HINTS: Hints = Hints::WRITE;
    const AUDIENCE: Audience = Audience::Service;
    type Params = Params;
    type Output = AdjustResult;

    async fn run(app: &App, p: Params) -> Result<AdjustResult, BillingError> {
        credits::adjust(
            app,
            AdjustInput {
                customer: p.customer.0,
                credits: p.credits,
                grant_id: p.grant_id.map(|t| t.0),
                reason: p.reason.0,
                idempotency_key: p.idempotency_key.map(|k| k.0),
            },
        )
        .await
    }
}
