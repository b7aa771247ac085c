//! `list_products`: list Stripe products (Stripe).

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::{App, BillingError};
use crate::stripe::catalog::ProductQuery;
use crate::stripe::views::{Page, ProductView};

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "list_products";
    const TITLE: &'static str = "List Stripe products";
    const DESCRIPTION: &'static str = include_str!("../../../tools/list_products.md");
    const TOOLSET: Toolset = Toolset::Catalog;
    const HINTS: Hints = Hints::STRIPE_READ;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = ProductQuery;
    type Output = Page<ProductView>;

    async fn run(app: &App, p: ProductQuery) -> Result<Page<ProductView>, BillingError> {
        app.list_products(p).await
    }
}
