//! `set_customer_plan`: put a customer on a catalog plan.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::plan_change::{self, PlanSet, SetPlan};
use crate::service::{App, BillingError};
use crate::values::{CustomerId, Name, Token};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub customer: CustomerId,
    /// A plan from list_plans.
    pub plan: Name,
    /// `month` or `year` (default: unchanged).
    pub interval: Option<Token>,
    /// Subscription status (default `active`): active, trialing, past_due, unpaid, canceled, incomplete, incomplete_expired, paused.
    pub status: Option<Token>,
    /// Start a new billing period now (resets the monthly window); default false.
    #[serde(default)]
    pub reset_period: bool,
    /// Show the change and the invoice it makes without changing anything; default false.
    #[serde(default)]
    pub dry_run: bool,
}

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "set_customer_plan";
    const TITLE: &'static str = "Set a customer's plan";
    const DESCRIPTION: &'static str = include_str!("../../../tools/set_customer_plan.md");
    const TOOLSET: Toolset = Toolset::Customers;
    const HINTS: Hints = Hints::WRITE;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = Params;
    type Output = PlanSet;

    async fn run(app: &App, p: Params) -> Result<PlanSet, BillingError> {
        plan_change::set_plan(
            app,
            SetPlan {
                customer: p.customer.0,
                plan: p.plan.0,
                interval: p.interval.map(|t| t.0),
                status: p.status.map(|t| t.0),
                reset_period: p.reset_period,
                dry_run: p.dry_run,
            },
        )
        .await
    }
}
