//! Keeping Stripe in line with the ledger's configuration: the catalog (`sync_catalog`) and
//! per-customer reserved tiers (`sync_reserved_tiers`). Both plan first (what would be created,
//! changed, replaced or archived), apply only when asked, and find nothing to do afterwards.

pub mod catalog;
pub mod desired;
pub mod reserved;
pub mod sale;

use schemars::JsonSchema;
use serde::Serialize;

use crate::core::tier::PriceModel;

/// Metadata on synced prices: the digest of what the price is (plan + spec).
pub const SPEC_KEY: &str = "billing_mcp_spec";
/// Metadata on objects the sync created (`catalog` or `reserved`): only those are archived.
pub const SYNC_KEY: &str = "billing_mcp_sync";

/// One planned (or, after applying, done) change at Stripe.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Step {
    /// create, update, replace or archive.
    pub action: &'static str,
    /// meter, product or price.
    pub object: &'static str,
    /// What the object is matched by: event name, plan or lookup key.
    pub key: String,
    /// The Stripe object changed, replaced or archived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub detail: String,
    /// After applying: the Stripe object the step produced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
}

/// The idempotency key of a sync write: derived from what it writes, so a retried apply replays
/// at Stripe instead of creating twice.
pub fn idempotency(parts: &[&str]) -> String {
    crate::stripe::idempotency_key("sync", Some(&parts.join(":")))
}

/// Metadata from string pairs.
pub fn tagged(pairs: &[(&str, &str)]) -> std::collections::HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A price spec in words, amounts in minor units as Stripe takes them.
pub fn describe(spec: &desired::PriceSpec) -> String {
    let per = format!("{} per {}", spec.currency, spec.interval);
    let amount = match &spec.amount {
        PriceModel::PerUnit { unit_amount } => format!("{} {per}", unit_amount.normalize()),
        PriceModel::Tiered { mode, tiers } => {
            let mode = crate::stripe::wire(mode);
            let parts: Vec<String> = tiers
                .iter()
                .map(|t| match t.up_to {
                    Some(u) => format!("up to {u} at {}", t.unit_amount.normalize()),
                    None => format!("above at {}", t.unit_amount.normalize()),
                })
                .collect();
            format!("{mode} tiers ({}), {per}", parts.join(", "))
        }
        PriceModel::Package { size, amount, .. } => {
            format!("{} per {size} units, {per}", amount.0)
        }
    };
    match &spec.event_name {
        Some(e) => format!("metered on {e}: {amount}"),
        None => amount,
    }
}
