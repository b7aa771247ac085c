//! `create_payment_link`: create a payment link (Stripe).

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::{App, BillingError};
use crate::stripe::checkout::NewPaymentLink;
use crate::stripe::views::PaymentLinkView;

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "create_payment_link";
    const TITLE: &'static str = "Create a payment link";
    const DESCRIPTION: &'static str = include_str!("../../../tools/create_payment_link.md");
    const TOOLSET: Toolset = Toolset::Catalog;
    const HINTS: Hints = Hints::STRIPE_CREATE;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = NewPaymentLink;
    type Output = PaymentLinkView;

    async fn run(app: &App, p: NewPaymentLink) -> Result<PaymentLinkView, BillingError> {
        app.create_payment_link(p).await
    }
}
