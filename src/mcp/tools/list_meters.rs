//! `list_meters`: list billing meters (Stripe).

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::{App, BillingError};
use crate::stripe::catalog::MeterQuery;
use crate::stripe::views::{MeterView, Page};

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "list_meters";
    const TITLE: &'static str = "List billing meters";
    const DESCRIPTION: &'static str = include_str!("../../../tools/list_meters.md");
    const TOOLSET: Toolset = Toolset::Stripe;
    const HINTS: Hints = Hints::STRIPE_READ;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = MeterQuery;
    type Output = Page<MeterView>;

    async fn run(app: &App, p: MeterQuery) -> Result<Page<MeterView>, BillingError> {
        app.list_meters(p).await
    }
}
