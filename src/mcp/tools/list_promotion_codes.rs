//! `list_promotion_codes`: list promotion codes (Stripe).

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::{App, BillingError};

pub struct Tool;

type Params = crate::stripe::promotions::PromotionCodeQuery;
type Output = crate::stripe::views::Page<crate::stripe::promotions::PromotionCodeView>;

impl BillingTool for Tool {
    const NAME: &'static str = "list_promotion_codes";
    const TITLE: &'static str = "List promotion codes";
    const DESCRIPTION: &'static str = include_str!("../../../tools/list_promotion_codes.md");
    const TOOLSET: Toolset = Toolset::Stripe;
    const HINTS: Hints = Hints::STRIPE_READ;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = Params;
    type Output = Output;

    async fn run(app: &App, p: Params) -> Result<Output, BillingError> {
        app.list_promotion_codes(p).await
    }
}
