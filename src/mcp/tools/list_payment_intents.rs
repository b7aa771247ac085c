//! `list_payment_intents`: list payment intents (Stripe).

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::{App, BillingError};
use crate::stripe::payments::PaymentIntentQuery;
use crate::stripe::views::{Page, PaymentIntentView};

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "list_payment_intents";
    const TITLE: &'static str = "List payment intents";
    const DESCRIPTION: &'static str = include_str!("../../../tools/list_payment_intents.md");
    const TOOLSET: Toolset = Toolset::Stripe;
    const HINTS: Hints = Hints::STRIPE_READ;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = PaymentIntentQuery;
    type Output = Page<PaymentIntentView>;

    async fn run(
        app: &App,
        p: PaymentIntentQuery,
    ) -> Result<Page<PaymentIntentView>, BillingError> {
        app.list_payment_intents(p).await
    }
}
