//! `get_usage`: a customer's usage totals and events over a range (default: current period).

use schemars::JsonSchema;
use serde::Deserialize;

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::usage::{self, UsageQuery, UsageReport};
use crate::service::{App, BillingError};
use crate::values::{CustomerId, Name, Token, default_limit};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub customer: CustomerId,
    /// Only this meter.
    pub meter: Option<Name>,
    /// Start of the range (RFC 3339); default: the current billing period's start.
    pub from: Option<Token>,
    /// End of the range, exclusive (RFC 3339); default: the current billing period's end.
    pub to: Option<Token>,
    /// Events per page (1–100, default 20).
    #[serde(default = "default_limit")]
    pub limit: u32,
    /// `next_cursor` of the previous page.
    pub starting_after: Option<Token>,
}

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "get_usage";
    const TITLE: &'static str = "Get usage";
    const DESCRIPTION: &'static str = include_str!("../../../tools/get_usage.md");
    const TOOLSET: Toolset = Toolset::Usage;
    const HINTS: Hints = Hints::READ;
    const AUDIENCE: Audience = Audience::OwnCustomer;
    type Params = Params;
    type Output = UsageReport;

    async fn run(app: &App, p: Params) -> Result<UsageReport, BillingError> {
        usage::report(
            app,
            UsageQuery {
                customer: p.customer.0,
                meter: p.meter.map(|m| m.0),
                from: p.from.map(|t| t.0),
                to: p.to.map(|t| t.0),
                limit: p.limit,
                starting_after: p.starting_after.map(|t| t.0),
            },
        )
        .await
    }
}
