//! `grant_credits`: add prepaid credits to a customer's balance.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::credits::{self, GrantInput, GrantResult};
use crate::service::{App, BillingError};
use crate::values::{CustomerId, IdempotencyKey, Text, Token};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub customer: CustomerId,
    /// Credits to grant (integer, 1 to 10^12).
    #[schemars(range(min = 1, max = 1_000_000_000_000u64))]
    pub credits: u64,
    /// 0 (burned first) to 100 (burned last); default 50.
    #[schemars(range(max = 100))]
    pub priority: Option<u32>,
    /// When the credits expire (RFC 3339); default never.
    pub expires_at: Option<Token>,
    /// Why, for the ledger (e.g. "welcome bonus").
    pub description: Option<Text>,
    /// A retry with the same key grants nothing again.
    pub idempotency_key: Option<IdempotencyKey>,
}

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "grant_credits";
    const TITLE: &'static str = "Grant credits";
    const DESCRIPTION: &'static str = include_str!("../../../tools/grant_credits.md");
    const TOOLSET: Toolset = Toolset::Credits;
    const HINTS: Hints = Hints::WRITE;
    const AUDIENCE: Audience = Audience::Service;
    type Params = Params;
    type Output = GrantResult;

    async fn run(app: &App, p: Params) -> Result<GrantResult, BillingError> {
        credits::grant(
            app,
            GrantInput {
                customer: p.customer.0,
                credits: p.credits,
                priority: p.priority,
                expires_at: p.expires_at.map(|t| t.0),
                description: p.description.map(|d| d.0),
                idempotency_key: p.idempotency_key.map(|k| k.0),
            },
        )
        .await
    }
}
