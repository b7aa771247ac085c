//! `record_usage_batch`: append up to 1,000 usage events in one durable commit.

use schemars::JsonSchema;
use serde::Deserialize;

use super::record_usage::Params as Event;
use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::usage::{self, BatchRecorded, UsageInput};
use crate::service::{App, BillingError};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// 1 to 1,000 events, each shaped like record_usage's arguments.
    #[schemars(length(min = 1, max = 1000))]
    pub events: Vec<Event>,
}

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "record_usage_batch";
    const TITLE: &'static str = "Record usage in a batch";
    const DESCRIPTION: &'static str = include_str!("../../../tools/record_usage_batch.md");
    const TOOLSET: Toolset = Toolset::Usage;
    const HINTS: Hints = Hints::WRITE;
    const AUDIENCE: Audience = Audience::Service;
    type Params = Params;
    type Output = BatchRecorded;

    async fn run(app: &App, p: Params) -> Result<BatchRecorded, BillingError> {
        let inputs = p
            .events
            .into_iter()
            .map(|e| UsageInput {
                customer: e.customer.0,
                meter: e.meter.0,
                quantity: e.quantity,
                timestamp: e.timestamp.map(|t| t.0),
                dimensions: e.dimensions.0,
                idempotency_key: e.idempotency_key.map(|k| k.0),
            })
            .collect();
        usage::record_batch(app, inputs).await
    }
}
