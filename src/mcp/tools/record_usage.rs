//! `record_usage`: append one usage event to the ledger.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::usage::{self, UsageInput, UsageRecorded};
use crate::service::{App, BillingError};
use crate::values::{CustomerId, Dimensions, IdempotencyKey, Name, Token};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The customer who used it.
    pub customer: CustomerId,
    /// The catalog meter (see list_plans), e.g. `tool_calls`.
    pub meter: Name,
    /// Units used (integer, 0 to 10^12).
    #[schemars(range(max = 1_000_000_000_000u64))]
    pub quantity: u64,
    /// When it happened (RFC 3339); defaults to now.
    pub timestamp: Option<Token>,
    /// Dimensions such as `tool` or `server_id` (string values).
    #[serde(default)]
    pub dimensions: Dimensions,
    /// Makes retries safe: the same key is counted once.
    pub idempotency_key: Option<IdempotencyKey>,
}

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "record_usage";
    const TITLE: &'static str = "Record usage";
    const DESCRIPTION: &'static str = include_str!("../../../tools/record_usage.md");
    const TOOLSET: Toolset = Toolset::Usage;
    const HINTS: Hints = Hints::WRITE;
    const AUDIENCE: Audience = Audience::Service;
    type Params = Params;
    type Output = UsageRecorded;

    async fn run(app: &App, p: Params) -> Result<UsageRecorded, BillingError> {
        usage::record(
            app,
            UsageInput {
                customer: p.customer.0,
                meter: p.meter.0,
                quantity: p.quantity,
                timestamp: p.timestamp.map(|t| t.0),
                dimensions: p.dimensions.0,
                idempotency_key: p.idempotency_key.map(|k| k.0),
            },
        )
        .await
    }
}
