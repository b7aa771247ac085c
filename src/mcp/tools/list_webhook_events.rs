//! `list_webhook_events`: the Stripe events received, newest first, with what each did.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::webhooks::{self, WebhookEventList};
use crate::service::{App, BillingError};
use crate::values::{Name, default_limit};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Only events in this state: `received`, `processed`, `ignored` or `failed`.
    pub status: Option<Name>,
    /// Only events of this type, e.g. `invoice.payment_failed`.
    #[serde(rename = "type")]
    pub kind: Option<Name>,
    /// Events per page (1–100, default 20).
    #[serde(default = "default_limit")]
    pub limit: u32,
    /// `next_cursor` of the previous page.
    pub starting_after: Option<Name>,
}

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "list_webhook_events";
    const TITLE: &'static str = "List Stripe webhook events";
    const DESCRIPTION: &'static str = include_str!("../../../tools/list_webhook_events.md");
    const TOOLSET: Toolset = Toolset::Insights;
    const HINTS: Hints = Hints::READ;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = Params;
    type Output = WebhookEventList;

    async fn run(app: &App, p: Params) -> Result<WebhookEventList, BillingError> {
        webhooks::list(
            app,
            p.status.map(|s| s.0),
            p.kind.map(|k| k.0),
            p.limit,
            p.starting_after.map(|s| s.0),
        )
        .await
    }
}
