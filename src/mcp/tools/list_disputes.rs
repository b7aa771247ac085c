//! `list_disputes`: list disputes (Stripe).

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::{App, BillingError};
use crate::stripe::payments::DisputeQuery;
use crate::stripe::views::{DisputeView, Page};

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "list_disputes";
    const TITLE: &'static str = "List disputes";
    const DESCRIPTION: &'static str = include_str!("../../../tools/list_disputes.md");
    const TOOLSET: Toolset = Toolset::Stripe;
    const HINTS: Hints = Hints::STRIPE_READ;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = DisputeQuery;
    type Output = Page<DisputeView>;

    async fn run(app: &App, p: DisputeQuery) -> Result<Page<DisputeView>, BillingError> {
        app.list_disputes(p).await
    }
}
