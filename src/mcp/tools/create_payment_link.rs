//! `create_payment_link`: create a payment link (Stripe).

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::sync::catalog::line_items_or_plan;
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

    async fn run(app: &App, mut p: NewPaymentLink) -> Result<PaymentLinkView, BillingError> {
        let stripe = app.stripe()?;
        if let Some(c) = &p.customer {
            app.customer(&c.0).await?;
        }
        if let Some(plan) = &p.plan {
            app.check_plan(&plan.0)?;
        }
        line_items_or_plan(app, &mut p.line_items, p.plan.as_ref(), p.interval).await?;
        stripe.create_payment_link(p).await
    }
}
