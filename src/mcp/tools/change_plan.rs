//! `change_plan`: move a customer's Stripe subscription to another catalog plan (Stripe).

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::stripe_admin::plan_moves::{ChangePlan, PlanChangeView};
use crate::service::{App, BillingError};

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "change_plan";
    const TITLE: &'static str = "Change a subscription's plan";
    const DESCRIPTION: &'static str = include_str!("../../../tools/change_plan.md");
    const TOOLSET: Toolset = Toolset::Stripe;
    const HINTS: Hints = Hints::STRIPE_UPDATE;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = ChangePlan;
    type Output = PlanChangeView;

    async fn run(app: &App, p: ChangePlan) -> Result<PlanChangeView, BillingError> {
        app.change_plan(p).await
    }
}
