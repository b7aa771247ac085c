//! `list_coupons`: list coupons (Stripe).

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::{App, BillingError};
use crate::stripe::catalog::CouponQuery;
use crate::stripe::views::{CouponView, Page};

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "list_coupons";
    const TITLE: &'static str = "List coupons";
    const DESCRIPTION: &'static str = include_str!("../../../tools/list_coupons.md");
    const TOOLSET: Toolset = Toolset::Stripe;
    const HINTS: Hints = Hints::STRIPE_READ;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = CouponQuery;
    type Output = Page<CouponView>;

    async fn run(app: &App, p: CouponQuery) -> Result<Page<CouponView>, BillingError> {
        app.list_coupons(p).await
    }
}
