//! `create_credit_checkout`: sell a catalog credit pack through Checkout (Stripe).

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::{App, BillingError};

pub struct Tool;

type Params = crate::stripe::credit_sale::NewCreditCheckout;
type Output = crate::stripe::views::CheckoutSessionView;

impl BillingTool for Tool {
    const NAME: &'static str = "create_credit_checkout";
    const TITLE: &'static str = "Sell a credit pack";
    const DESCRIPTION: &'static str = include_str!("../../../tools/create_credit_checkout.md");
    const TOOLSET: Toolset = Toolset::Stripe;
    const HINTS: Hints = Hints::STRIPE_CREATE;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = Params;
    type Output = Output;

    async fn run(app: &App, p: Params) -> Result<Output, BillingError> {
        app.create_credit_checkout(p).await
    }
}
