//! `list_subscriptions`: list Stripe subscriptions (Stripe).

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::{App, BillingError};
use crate::stripe::billing::SubscriptionQuery;
use crate::stripe::views::{Page, SubscriptionView};

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "list_subscriptions";
    const TITLE: &'static str = "List Stripe subscriptions";
    const DESCRIPTION: &'static str = include_str!("../../../tools/list_subscriptions.md");
    const TOOLSET: Toolset = Toolset::Stripe;
    const HINTS: Hints = Hints::STRIPE_READ;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = SubscriptionQuery;
    type Output = Page<SubscriptionView>;

    async fn run(app: &App, p: SubscriptionQuery) -> Result<Page<SubscriptionView>, BillingError> {
        app.list_subscriptions(p).await
    }
}
