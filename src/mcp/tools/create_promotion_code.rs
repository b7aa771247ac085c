//! `create_promotion_code`: create a customer-facing discount code on a coupon (Stripe).

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::{App, BillingError};

pub struct Tool;

type Params = crate::stripe::promotions::NewPromotionCode;
type Output = crate::stripe::promotions::PromotionCodeView;

impl BillingTool for Tool {
    const NAME: &'static str = "create_promotion_code";
    const TITLE: &'static str = "Create a promotion code";
    const DESCRIPTION: &'static str = include_str!("../../../tools/create_promotion_code.md");
    const TOOLSET: Toolset = Toolset::Stripe;
    const HINTS: Hints = Hints::STRIPE_CREATE;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = Params;
    type Output = Output;

    async fn run(app: &App, p: Params) -> Result<Output, BillingError> {
        app.create_promotion_code(p).await
    }
}
