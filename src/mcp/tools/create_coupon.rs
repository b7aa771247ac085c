//! `create_coupon`: create a coupon (Stripe).

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::{App, BillingError};
use crate::stripe::catalog::NewCoupon;
use crate::stripe::views::CouponView;

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "create_coupon";
    const TITLE: &'static str = "Create a coupon";
    const DESCRIPTION: &'static str = include_str!("../../../tools/create_coupon.md");
    const TOOLSET: Toolset = Toolset::Stripe;
    const HINTS: Hints = Hints::STRIPE_CREATE;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = NewCoupon;
    type Output = CouponView;

    async fn run(app: &App, p: NewCoupon) -> Result<CouponView, BillingError> {
        app.create_coupon(p).await
    }
}
