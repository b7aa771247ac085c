//! `create_refund`: refund a payment (Stripe).

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::{App, BillingError};
use crate::stripe::payments::NewRefund;
use crate::stripe::views::RefundView;

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "create_refund";
    const TITLE: &'static str = "Refund a payment";
    const DESCRIPTION: &'static str = include_str!("../../../tools/create_refund.md");
    const TOOLSET: Toolset = Toolset::Stripe;
    const HINTS: Hints = Hints::STRIPE_DESTRUCTIVE;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = NewRefund;
    type Output = RefundView;

    async fn run(app: &App, p: NewRefund) -> Result<RefundView, BillingError> {
        app.create_refund(p).await
    }
}
