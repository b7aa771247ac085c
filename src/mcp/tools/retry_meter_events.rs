//! `retry_meter_events`: put a customer's failed meter events back in the outbox.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::outbox::{self, Requeued};
use crate::service::{App, BillingError};
use crate::values::{CustomerId, Name, Token};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub customer: CustomerId,
    /// Only this meter's events (default: every meter).
    pub meter: Option<Name>,
    /// Start of the range (RFC 3339; default: the current billing period's start).
    pub from: Option<Token>,
    /// End of the range (RFC 3339; default: the current billing period's end).
    pub to: Option<Token>,
}

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "retry_meter_events";
    const TITLE: &'static str = "Retry failed meter events";
    const DESCRIPTION: &'static str = include_str!("../../../tools/retry_meter_events.md");
    const TOOLSET: Toolset = Toolset::Stripe;
    const HINTS: Hints = Hints::WRITE;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = Params;
    type Output = Requeued;

    async fn run(app: &App, p: Params) -> Result<Requeued, BillingError> {
        outbox::requeue(
            app,
            &p.customer.0,
            p.meter.as_ref().map(|m| m.0.as_str()),
            p.from.as_ref().map(|t| t.0.as_str()),
            p.to.as_ref().map(|t| t.0.as_str()),
        )
        .await
    }
}
