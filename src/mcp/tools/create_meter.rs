//! `create_meter`: create a billing meter (Stripe).

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::{App, BillingError};
use crate::stripe::catalog::NewMeter;
use crate::stripe::views::MeterView;

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "create_meter";
    const TITLE: &'static str = "Create a billing meter";
    const DESCRIPTION: &'static str = include_str!("../../../tools/create_meter.md");
    const TOOLSET: Toolset = Toolset::Stripe;
    const HINTS: Hints = Hints::STRIPE_CREATE;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = NewMeter;
    type Output = MeterView;

    async fn run(app: &App, p: NewMeter) -> Result<MeterView, BillingError> {
        app.create_meter(p).await
    }
}
