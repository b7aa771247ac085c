//! `get_usage_stats`: one customer's calls over a window — total, successful and failed, the
//! top tools, a row per day, credits burned and the period's usage amount.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::insights::usage_stats::{self, StatsQuery, UsageStatsView};
use crate::service::{App, BillingError};
use crate::values::{CustomerId, Name, Token};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub customer: CustomerId,
    /// Only this meter; default: every meter.
    pub meter: Option<Name>,
    /// Start of the window (RFC 3339); default: the current billing period's start.
    pub from: Option<Token>,
    /// End of the window, exclusive (RFC 3339); default: the current billing period's end.
    pub to: Option<Token>,
}

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "get_usage_stats";
    const TITLE: &'static str = "Get a customer's usage statistics";
    const DESCRIPTION: &'static str = include_str!("../../../tools/get_usage_stats.md");
    const TOOLSET: Toolset = Toolset::Insights;
    const HINTS: Hints = Hints::READ;
    const AUDIENCE: Audience = Audience::OwnCustomer;
    type Params = Params;
    type Output = UsageStatsView;

    async fn run(app: &App, p: Params) -> Result<UsageStatsView, BillingError> {
        usage_stats::stats(
            app,
            StatsQuery {
                customer: p.customer.0,
                meter: p.meter.map(|m| m.0),
                from: p.from.map(|t| t.0),
                to: p.to.map(|t| t.0),
            },
        )
        .await
    }
}
