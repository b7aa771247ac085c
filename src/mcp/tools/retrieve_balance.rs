//! `retrieve_balance`: stripe balance (Stripe).

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::{App, BillingError};
use crate::stripe::payments::NoParams;
use crate::stripe::views::BalanceView;

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "retrieve_balance";
    const TITLE: &'static str = "Stripe balance";
    const DESCRIPTION: &'static str = include_str!("../../../tools/retrieve_balance.md");
    const TOOLSET: Toolset = Toolset::Stripe;
    const HINTS: Hints = Hints::STRIPE_READ;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = NoParams;
    type Output = BalanceView;

    async fn run(app: &App, _p: NoParams) -> Result<BalanceView, BillingError> {
        app.retrieve_balance().await
    }
}
