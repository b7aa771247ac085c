//! `get_dashboard`: the business over a range — revenue, MRR and its movements, customers,
//! usage, credits, reserved capacity, a customers table and delivery health.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::insights::view::DashboardView;
use crate::service::insights::{self, DashboardQuery};
use crate::service::{App, BillingError};
use crate::values::Token;

/// The width of a series bucket (UTC).
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    Day,
    Week,
    Month,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Start of the range (RFC 3339); default: the start of this calendar month (UTC).
    pub from: Option<Token>,
    /// End of the range, exclusive (RFC 3339); default: the start of next month.
    pub to: Option<Token>,
    /// Bucket width of the series; default: day for ranges up to 62 days, else month.
    pub granularity: Option<Granularity>,
    /// Rows of the customers table (1–1000, default 25).
    #[schemars(range(min = 1, max = 1000))]
    pub accounts_limit: Option<u32>,
}

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "get_dashboard";
    const TITLE: &'static str = "Get the billing dashboard";
    const DESCRIPTION: &'static str = include_str!("../../../tools/get_dashboard.md");
    const TOOLSET: Toolset = Toolset::Insights;
    const HINTS: Hints = Hints::READ;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = Params;
    type Output = DashboardView;

    /// Hosts with MCP Apps show the result in the dashboard app (`ui://billing-mcp/dashboard`).
    fn meta() -> Option<rmcp::model::MetaObject> {
        Some(crate::mcp::ui::tool_meta())
    }

    async fn run(app: &App, p: Params) -> Result<DashboardView, BillingError> {
        insights::dashboard(
            app,
            DashboardQuery {
                from: p.from.map(|t| t.0),
                to: p.to.map(|t| t.0),
                granularity: p.granularity.map(|g| {
                    match g {
                        Granularity::Day => "day",
                        Granularity::Week => "week",
                        Granularity::Month => "month",
                    }
                    .to_string()
                }),
                accounts_limit: p.accounts_limit,
            },
        )
        .await
    }
}
