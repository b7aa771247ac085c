//! `create_payment_link`: create a payment link (Stripe).

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::payments::join_notes;
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
        let customer = match &p.customer {
            Some(c) => Some(app.customer(&c.0).await?),
            None => None,
        };
        if let Some(plan) = &p.plan {
            app.check_plan(&plan.0)?;
        }
        // A plan's trial goes with its synced prices, never with the caller's own line items.
        let sells_plan = p.line_items.is_empty();
        line_items_or_plan(app, &mut p.line_items, p.plan.as_ref(), p.interval).await?;
        let plan = p.plan.as_ref().map(|n| n.0.as_str()).filter(|_| sells_plan);
        let sale = app.sale(plan, customer.as_ref());
        p.sale = sale.plan;
        let mut link = stripe.create_payment_link(p).await?;
        link.note = join_notes(link.note, sale.note);
        Ok(link)
    }
}
