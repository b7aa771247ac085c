//! `create_price`: create a Stripe price (Stripe).

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::{App, BillingError};
use crate::stripe::catalog::NewPrice;
use crate::stripe::views::PriceView;

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "create_price";
    const TITLE: &'static str = "Create a Stripe price";
    const DESCRIPTION: &'static str = include_str!("../../../tools/create_price.md");
    const TOOLSET: Toolset = Toolset::Catalog;
    const HINTS: Hints = Hints::STRIPE_CREATE;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = NewPrice;
    type Output = PriceView;

    async fn run(app: &App, p: NewPrice) -> Result<PriceView, BillingError> {
        app.create_price(p).await
    }
}
