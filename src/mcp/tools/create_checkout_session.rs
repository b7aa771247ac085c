//! `create_checkout_session`: create a Checkout session (Stripe).

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::sync::catalog::line_items_or_plan;
use crate::service::{App, BillingError};
use crate::stripe::checkout::{Mode, NewCheckoutSession};
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

    async fn run(
        app: &App,
        mut p: NewCheckoutSession,
    ) -> Result<CheckoutSessionView, BillingError> {
        let stripe = app.stripe()?;
        if let Some(plan) = &p.plan {
            app.check_plan(&plan.0)?;
        }
        let (stripe_customer, ledger_customer) = match &p.customer {
            Some(c) => {
                let (id, in_ledger) = app.resolve_customer(&c.0).await?;
                (Some(id), in_ledger.then(|| c.0.clone()))
            }
            None => (None, None),
        };
        let record = match &ledger_customer {
            Some(c) => Some(app.customer(c).await?),
            None => None,
        };
        // A plan's trial goes with its synced prices, never with the caller's own line items.
        let sells_plan = p.line_items.is_empty();
        line_items_or_plan(app, &mut p.line_items, p.plan.as_ref(), p.interval).await?;
        let plan = p.plan.as_ref().map(|n| n.0.as_str()).filter(|_| sells_plan);
        let sale = app.sale(plan, record.as_ref());
        p.sale = sale.plan;
        let subscription = matches!(p.mode, Mode::Subscription);
        let mut session = stripe
            .create_checkout_session(p, stripe_customer, ledger_customer)
            .await?;
        // A one-time payment starts no subscription, so no trial either.
        session.note = sale.note.filter(|_| subscription);
        Ok(session)
    }
}
