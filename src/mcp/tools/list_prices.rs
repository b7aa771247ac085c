//! `list_prices`: list Stripe prices (Stripe).

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::{App, BillingError};
use crate::stripe::catalog::PriceQuery;
use crate::stripe::views::{Page, PriceView};

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "list_prices";
    const TITLE: &'static str = "List Stripe prices";
    const DESCRIPTION: &'static str = include_str!("../../../tools/list_prices.md");
    const TOOLSET: Toolset = Toolset::Catalog;
    const HINTS: Hints = Hints::STRIPE_READ;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = PriceQuery;
    type Output = Page<PriceView>;

    async fn run(app: &App, p: PriceQuery) -> Result<Page<PriceView>, BillingError> {
        app.list_prices(p).await
    }
}
