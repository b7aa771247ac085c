//! `quote_price`: what the next units of a meter cost, tier by tier.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::pricing::{self, QuoteInput, QuoteView};
use crate::service::{App, BillingError};
use crate::values::{CustomerId, Name};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Quote for this customer: their plan and the usage they already have this period.
    pub customer: Option<CustomerId>,
    /// Quote on this plan (default: the customer's plan, else the catalog's default plan).
    pub plan: Option<Name>,
    pub meter: Name,
    /// Units to price (integer, 0 to 10^12).
    #[schemars(range(max = 1_000_000_000_000u64))]
    pub quantity: u64,
    /// A tool with its own price on the plan.
    pub tool: Option<Name>,
}

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "quote_price";
    const TITLE: &'static str = "Quote a price";
    const DESCRIPTION: &'static str = include_str!("../../../tools/quote_price.md");
    const TOOLSET: Toolset = Toolset::Usage;
    const HINTS: Hints = Hints::READ;
    const AUDIENCE: Audience = Audience::OwnCustomer;
    type Params = Params;
    type Output = QuoteView;

    async fn run(app: &App, p: Params) -> Result<QuoteView, BillingError> {
        pricing::quote_price(
            app,
            QuoteInput {
                customer: p.customer.map(|c| c.0),
                plan: p.plan.map(|c| c.0),
                meter: p.meter.0,
                tool: p.tool.map(|t| t.0),
                quantity: p.quantity,
            },
        )
        .await
    }
}
