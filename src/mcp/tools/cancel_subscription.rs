//! `cancel_subscription`: cancel a subscription (Stripe).

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::{App, BillingError};
use crate::stripe::billing::SubscriptionCancel;
use crate::stripe::views::SubscriptionView;

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "cancel_subscription";
    const TITLE: &'static str = "Cancel a subscription";
    const DESCRIPTION: &'static str = include_str!("../../../tools/cancel_subscription.md");
    const TOOLSET: Toolset = Toolset::Stripe;
    const HINTS: Hints = Hints::STRIPE_DESTRUCTIVE;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = SubscriptionCancel;
    type Output = SubscriptionView;

    async fn run(app: &App, p: SubscriptionCancel) -> Result<SubscriptionView, BillingError> {
        app.cancel_subscription(p).await
    }
}
