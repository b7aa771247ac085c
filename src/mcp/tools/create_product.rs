//! `create_product`: create a Stripe product (Stripe).

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::{App, BillingError};
use crate::stripe::catalog::NewProduct;
use crate::stripe::views::ProductView;

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "create_product";
    const TITLE: &'static str = "Create a Stripe product";
    const DESCRIPTION: &'static str = include_str!("../../../tools/create_product.md");
    const TOOLSET: Toolset = Toolset::Catalog;
    const HINTS: Hints = Hints::STRIPE_CREATE;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = NewProduct;
    type Output = ProductView;

    async fn run(app: &App, p: NewProduct) -> Result<ProductView, BillingError> {
        app.create_product(p).await
    }
}
