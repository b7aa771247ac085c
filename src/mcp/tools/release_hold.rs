//! `release_hold`: end a hold without charging anything.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::entitlements::{self, HoldView};
use crate::service::{App, BillingError};
use crate::values::{CustomerId, Name};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub customer: CustomerId,
    /// The `hold.hold_id` check_entitlement returned.
    pub hold_id: Name,
}

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "release_hold";
    const TITLE: &'static str = "Release a hold";
    const DESCRIPTION: &'static str = include_str!("../../../tools/release_hold.md");
    const TOOLSET: Toolset = Toolset::Usage;
    const HINTS: Hints = Hints::WRITE;
    const AUDIENCE: Audience = Audience::OwnCustomer;
    type Params = Params;
    type Output = HoldView;

    async fn run(app: &App, p: Params) -> Result<HoldView, BillingError> {
        entitlements::release(app, &p.customer.0, &p.hold_id.0).await
    }
}
