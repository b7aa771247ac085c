//! `sync_catalog`: make Stripe hold the catalog's meters, products and prices (plan by default).

use rmcp::model::JsonObject;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::sync::catalog::{CatalogSync, sync_catalog};
use crate::service::{App, BillingError};
use crate::values::default_true;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// true (default): only return the plan. false: apply it.
    #[serde(default = "default_true")]
    pub dry_run: bool,
}

/// Whether a call applies its plan (a dry run changes nothing).
pub fn applies(args: &JsonObject) -> bool {
    args.get("dry_run").and_then(serde_json::Value::as_bool) == Some(false)
}

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "sync_catalog";
    const TITLE: &'static str = "Sync the catalog to Stripe";
    const DESCRIPTION: &'static str = include_str!("../../../tools/sync_catalog.md");
    const TOOLSET: Toolset = Toolset::Catalog;
    const HINTS: Hints = Hints::STRIPE_UPDATE;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = Params;
    type Output = CatalogSync;

    async fn run(app: &App, p: Params) -> Result<CatalogSync, BillingError> {
        sync_catalog(app, p.dry_run).await
    }

    fn mutates(args: &JsonObject) -> bool {
        applies(args)
    }
}
