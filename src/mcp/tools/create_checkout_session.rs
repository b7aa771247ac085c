//! `create_checkout_session`: create a Checkout session (Stripe).

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::{App, BillingError};
use crate::stripe::checkout::NewCheckoutSession;
use crate::stripe::views::CheckoutSessionView;

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "create_checkout_session";
    const TITLE: &'static str = "Create a Checkout session";
    const DESCRIPTION: &'static str = include_str!("../../../tools/create_checkout_session.md");
    const TOOLSET: Toolset = Toolset::Stripe;
    const HINTS: Hints = Hints::STRIPE_CREATE;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = NewCheckoutSession;
    type Output = CheckoutSessionView;

    async fn run(app: &App, p: NewCheckoutSession) -> Result<CheckoutSessionView, BillingError> {
        app.create_checkout_session(p).await
    }
}
