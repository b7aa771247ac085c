//! `retry_webhook_event`: process a stored Stripe event again after fixing why it failed.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::webhooks::{self, WebhookEventView};
use crate::service::{App, BillingError};
use crate::values::Name;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The Stripe event id (`evt_…`) from list_webhook_events.
    pub event_id: Name,
}

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "retry_webhook_event";
    const TITLE: &'static str = "Retry a Stripe webhook event";
    const DESCRIPTION: &'static str = include_str!("../../../tools/retry_webhook_event.md");
    const TOOLSET: Toolset = Toolset::Insights;
    const HINTS: Hints = Hints::WRITE;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = Params;
    type Output = WebhookEventView;

    async fn run(app: &App, p: Params) -> Result<WebhookEventView, BillingError> {
        webhooks::retry(app, &p.event_id.0).await
    }
}
