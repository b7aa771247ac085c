//! `create_checkout_session`: create a Checkout session (Stripe).

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::sync::catalog::line_items_or_plan;
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

    async fn run(
        app: &App,
        mut p: NewCheckoutSession,
    ) -> Result<CheckoutSessionView, BillingError> {
        let stripe = app.stripe()?;
        if let Some(plan) = &p.plan {
            app.check_plan(&plan.0)?;
        }
        line_items_or_plan(app, &mut p.line_items, p.plan.as_ref(), p.interval).await?;
        let (stripe_customer, ledger_customer) = match &p.customer {
            Some(c) => {
                let (id, in_ledger) = app.resolve_customer(&c.0).await?;
                (Some(id), in_ledger.then(|| c.0.clone()))
            }
            None => (None, None),
        };
        stripe
            .create_checkout_session(p, stripe_customer, ledger_customer)
            .await
    }
}
