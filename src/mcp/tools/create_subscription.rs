//! `create_subscription`: create a subscription for a customer (Stripe).

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::{App, BillingError};

pub struct Tool;

type Params = crate::stripe::subscriptions::NewSubscription;
type Output = crate::stripe::subscriptions::CreatedSubscription;

impl BillingTool for Tool {
    const NAME: &'static str = "create_subscription";
    const TITLE: &'static str = "Create a subscription";
    const DESCRIPTION: &'static str = include_str!("../../../tools/create_subscription.md");
    const TOOLSET: Toolset = Toolset::Stripe;
    const HINTS: Hints = Hints::STRIPE_CREATE;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = Params;
    type Output = Output;

    async fn run(app: &App, p: Params) -> Result<Output, BillingError> {
        app.create_subscription(p).await
    }
}
