//! `get_discount`: look a discount code up by what customers type (Stripe).

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::{App, BillingError};

pub struct Tool;

type Params = crate::service::stripe_admin::discounts::DiscountQuery;
type Output = crate::service::stripe_admin::discounts::DiscountView;

impl BillingTool for Tool {
    const NAME: &'static str = "get_discount";
    const TITLE: &'static str = "Look up a discount code";
    const DESCRIPTION: &'static str = include_str!("../../../tools/get_discount.md");
    const TOOLSET: Toolset = Toolset::Stripe;
    const HINTS: Hints = Hints::STRIPE_READ;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = Params;
    type Output = Output;

    async fn run(app: &App, p: Params) -> Result<Output, BillingError> {
        app.get_discount(p).await
    }
}
