//! `list_payment_methods`: a customer's payment methods and the default (Stripe).

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::{App, BillingError};

pub struct Tool;

type Params = crate::stripe::payment_methods::PaymentMethodQuery;
type Output = crate::stripe::payment_methods::PaymentMethodList;

impl BillingTool for Tool {
    const NAME: &'static str = "list_payment_methods";
    const TITLE: &'static str = "List payment methods";
    const DESCRIPTION: &'static str = include_str!("../../../tools/list_payment_methods.md");
    const TOOLSET: Toolset = Toolset::Stripe;
    const HINTS: Hints = Hints::STRIPE_READ;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = Params;
    type Output = Output;

    async fn run(app: &App, p: Params) -> Result<Output, BillingError> {
        app.list_payment_methods(p).await
    }
}
