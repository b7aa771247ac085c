//! `update_dispute`: respond to a dispute (Stripe).

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::{App, BillingError};
use crate::stripe::payments::DisputeChange;
use crate::stripe::views::DisputeView;

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "update_dispute";
    const TITLE: &'static str = "Respond to a dispute";
    const DESCRIPTION: &'static str = include_str!("../../../tools/update_dispute.md");
    const TOOLSET: Toolset = Toolset::Stripe;
    const HINTS: Hints = Hints::STRIPE_UPDATE;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = DisputeChange;
    type Output = DisputeView;

    async fn run(app: &App, p: DisputeChange) -> Result<DisputeView, BillingError> {
        app.update_dispute(p).await
    }
}
