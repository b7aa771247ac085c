//! `create_setup_intent`: a setup intent to collect a customer's payment method (Stripe).

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::{App, BillingError};

pub struct Tool;

type Params = crate::stripe::payment_methods::NewSetupIntent;
type Output = crate::stripe::payment_methods::SetupIntentView;

impl BillingTool for Tool {
    const NAME: &'static str = "create_setup_intent";
    const TITLE: &'static str = "Collect a payment method";
    const DESCRIPTION: &'static str = include_str!("../../../tools/create_setup_intent.md");
    const TOOLSET: Toolset = Toolset::Stripe;
    const HINTS: Hints = Hints::STRIPE_CREATE;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = Params;
    type Output = Output;

    async fn run(app: &App, p: Params) -> Result<Output, BillingError> {
        app.create_setup_intent(p).await
    }
}
