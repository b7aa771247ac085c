//! `settle_hold`: record what a held call actually used (and burn its credits), ending the hold.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::entitlements::{self, HoldView, SettleInput};
use crate::service::{App, BillingError};
use crate::values::{CustomerId, Name};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub customer: CustomerId,
    /// The `hold.hold_id` check_entitlement returned.
    pub hold_id: Name,
    /// Units the call actually used (integer, 0 to 10^12; default: what was held).
    #[schemars(range(max = 1_000_000_000_000u64))]
    pub quantity: Option<u64>,
}

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "settle_hold";
    const TITLE: &'static str = "Settle a hold into usage";
    const DESCRIPTION: &'static str = include_str!("../../../tools/settle_hold.md");
    const TOOLSET: Toolset = Toolset::Usage;
    const HINTS: Hints = Hints::WRITE;
    const AUDIENCE: Audience = Audience::OwnCustomer;
    type Params = Params;
    type Output = HoldView;

    async fn run(app: &App, p: Params) -> Result<HoldView, BillingError> {
        entitlements::settle(
            app,
            SettleInput {
                customer: p.customer.0,
                hold_id: p.hold_id.0,
                quantity: p.quantity,
                dimensions: Default::default(),
            },
        )
        .await
    }
}
