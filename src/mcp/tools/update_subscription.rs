//! `update_subscription`: change a subscription (Stripe).

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::{App, BillingError};
use crate::stripe::billing::SubscriptionChange;
use crate::stripe::views::SubscriptionView;

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "update_subscription";
    const TITLE: &'static str = "Change a subscription";
    const DESCRIPTION: &'static str = include_str!("../../../tools/update_subscription.md");
    const TOOLSET: Toolset = Toolset::Stripe;
    const HINTS: Hints = Hints::STRIPE_UPDATE;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = SubscriptionChange;
    type Output = SubscriptionView;

    async fn run(app: &App, p: SubscriptionChange) -> Result<SubscriptionView, BillingError> {
        app.update_subscription(p).await
    }
}
