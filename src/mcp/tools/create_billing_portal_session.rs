//! `create_billing_portal_session`: open the billing portal (Stripe).

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::{App, BillingError};
use crate::stripe::checkout::NewPortalSession;
use crate::stripe::views::PortalSessionView;

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "create_billing_portal_session";
    const TITLE: &'static str = "Open the billing portal";
    const DESCRIPTION: &'static str =
        include_str!("../../../tools/create_billing_portal_session.md");
    const TOOLSET: Toolset = Toolset::Stripe;
    const HINTS: Hints = Hints::STRIPE_CREATE;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = NewPortalSession;
    type Output = PortalSessionView;

    async fn run(app: &App, p: NewPortalSession) -> Result<PortalSessionView, BillingError> {
        app.create_billing_portal_session(p).await
    }
}
