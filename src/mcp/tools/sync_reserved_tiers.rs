//! `sync_reserved_tiers`: make customers' Stripe subscription items match reserved.json.

use rmcp::model::JsonObject;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::sync::reserved::{ReservedSync, sync_reserved_tiers};
use crate::service::{App, BillingError};
use crate::values::{CustomerId, JsonText, default_true};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Optional: the text of reserved.json ({"<customer>": {"<meter>_reserved": units,
    /// "<meter>_overage_tiers": [{"threshold", "price_per_unit", "stripe_item"}]}}), as a string
    /// so 0.001 stays exact; it is stored in the ledger first (as set_reserved_tiers does).
    /// Without it, what the ledger holds is synced.
    pub reserved_json: Option<JsonText>,
    /// Only this customer of the document (default: every customer in it).
    pub customer: Option<CustomerId>,
    /// true (default): only return the plan. false: apply it.
    #[serde(default = "default_true")]
    pub dry_run: bool,
}

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "sync_reserved_tiers";
    const TITLE: &'static str = "Sync reserved tiers to subscriptions";
    const DESCRIPTION: &'static str = include_str!("../../../tools/sync_reserved_tiers.md");
    const TOOLSET: Toolset = Toolset::Catalog;
    const HINTS: Hints = Hints::STRIPE_UPDATE;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = Params;
    type Output = ReservedSync;

    async fn run(app: &App, p: Params) -> Result<ReservedSync, BillingError> {
        sync_reserved_tiers(
            app,
            p.reserved_json.as_ref().map(|j| j.0.as_str()),
            p.customer.as_ref().map(|c| c.0.as_str()),
            p.dry_run,
        )
        .await
    }

    fn mutates(args: &JsonObject) -> bool {
        super::sync_catalog::applies(args)
    }
}
