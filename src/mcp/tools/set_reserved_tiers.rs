//! `set_reserved_tiers`: store customers' reserved capacity (seed 001's reserved.json) in the ledger.

use rmcp::model::JsonObject;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::reserved::{ReservedSet, set_reserved_tiers};
use crate::service::{App, BillingError};
use crate::values::{CustomerId, JsonText, default_true};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The text of reserved.json: {"<customer>": {"<meter>_reserved": units,
    /// "<meter>_overage_tiers": [{"threshold", "price_per_unit", "stripe_item"}]}}. Passed as a
    /// string so decimal prices such as 0.001 stay exact.
    pub reserved_json: JsonText,
    /// Only this customer of the document (default: every customer in it).
    pub customer: Option<CustomerId>,
    /// true (default): only show what would be stored. false: store it.
    #[serde(default = "default_true")]
    pub dry_run: bool,
}

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "set_reserved_tiers";
    const TITLE: &'static str = "Store reserved capacity";
    const DESCRIPTION: &'static str = include_str!("../../../tools/set_reserved_tiers.md");
    const TOOLSET: Toolset = Toolset::Catalog;
    const HINTS: Hints = Hints::WRITE;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = Params;
    type Output = ReservedSet;

    async fn run(app: &App, p: Params) -> Result<ReservedSet, BillingError> {
        set_reserved_tiers(
            app,
            &p.reserved_json.0,
            p.customer.as_ref().map(|c| c.0.as_str()),
            p.dry_run,
        )
        .await
    }

    fn mutates(args: &JsonObject) -> bool {
        super::sync_catalog::applies(args)
    }
}
