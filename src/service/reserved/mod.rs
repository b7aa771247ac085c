//! Reserved capacity in the ledger (seed 001's `reserved.json`): `set_reserved_tiers` stores each
//! customer's reserved units and overage tiers, read from the document's text with exact
//! decimals, so `check_entitlement`, `quote_price` and `preview_invoice` price them with the
//! core's `overage_charge`, and `sync_reserved_tiers` pushes what the ledger holds to Stripe.

mod document;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use super::{App, BillingError};
use crate::core::reserved::ReservedMeter;
use crate::store::{Page, ReservedTiers, ReservedWrite, StoredReserved, StoredTier};
pub use document::{empty, parse_document};

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct TierView {
    /// Overage units after which this tier's price applies.
    pub threshold: u64,
    /// Price per overage unit in major units (e.g. dollars), exact.
    pub price_per_unit: String,
    pub stripe_item: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ReservedMeterView {
    pub meter: String,
    /// Prepaid units per billing period.
    pub reserved: u64,
    pub overage_tiers: Vec<TierView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CustomerReserved {
    pub customer: String,
    /// False when the ledger holds exactly this already.
    pub changed: bool,
    pub meters: Vec<ReservedMeterView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ReservedSet {
    /// True when nothing was stored: `customers` shows what would be.
    pub dry_run: bool,
    pub customers: Vec<CustomerReserved>,
}

fn stored(meters: &BTreeMap<String, ReservedMeter>) -> ReservedTiers {
    meters
        .iter()
        .map(|(meter, m)| {
            let tiers = m
                .tiers
                .iter()
                .map(|t| StoredTier {
                    threshold: t.threshold,
                    price_per_unit: t.price_per_unit.normalize().to_string(),
                    stripe_item: t.stripe_item.clone(),
                })
                .collect();
            (
                meter.clone(),
                StoredReserved {
                    reserved: m.reserved,
                    tiers,
                },
            )
        })
        .collect()
}

pub fn views(meters: &BTreeMap<String, ReservedMeter>) -> Vec<ReservedMeterView> {
    stored(meters)
        .into_iter()
        .map(|(meter, r)| ReservedMeterView {
            meter,
            reserved: r.reserved,
            overage_tiers: r
                .tiers
                .into_iter()
                .map(|t| TierView {
                    threshold: t.threshold,
                    price_per_unit: t.price_per_unit,
                    stripe_item: t.stripe_item,
                })
                .collect(),
        })
        .collect()
}

/// Read a reserved.json document, checked against the catalog and the ledger's customers.
pub async fn checked_document(
    app: &App,
    text: &str,
    only: Option<&str>,
) -> Result<BTreeMap<String, BTreeMap<String, ReservedMeter>>, BillingError> {
    let mut all = parse_document(text)?;
    if let Some(c) = only {
        all.retain(|k, _| k == c);
        if all.is_empty() {
            return Err(BillingError::invalid(format!(
                "customer `{c}` is not in reserved_json"
            )));
        }
    }
    for meters in all.values() {
        for meter in meters.keys() {
            if !app.catalog.meters.contains_key(meter) {
                return Err(BillingError::new(
                    "unknown_meter",
                    format!(
                        "meter `{m}` in reserved_json is not in the catalog; add [meters.{m}] to billing.toml",
                        m = crate::core::text::quote(meter)
                    ),
                ));
            }
        }
    }
    Ok(all)
}

/// Store each customer's reserved capacity as the document says (replacing what it had).
pub async fn set_reserved_tiers(
    app: &App,
    text: &str,
    only: Option<&str>,
    dry_run: bool,
) -> Result<ReservedSet, BillingError> {
    let all = checked_document(app, text, only).await?;
    let mut customers = Vec::with_capacity(all.len());
    for (customer, meters) in &all {
        let record = app.live_customer(customer).await?;
        let changed = record.reserved()? != *meters;
        if changed && !dry_run {
            let json = serde_json::to_string(&stored(meters))
                .map_err(|e| BillingError::invalid(e.to_string()))?;
            app.store
                .set_reserved(ReservedWrite {
                    customer: customer.clone(),
                    reserved_tiers: json,
                    now: app.now(),
                })
                .await?
                .ok_or_else(|| BillingError::unknown_customer(customer))?;
        }
        customers.push(CustomerReserved {
            customer: customer.clone(),
            changed,
            meters: views(meters),
        });
    }
    Ok(ReservedSet { dry_run, customers })
}

/// What the ledger holds: one customer's reserved capacity, or every customer's that has some.
pub async fn held(
    app: &App,
    only: Option<&str>,
) -> Result<BTreeMap<String, BTreeMap<String, ReservedMeter>>, BillingError> {
    let mut out = BTreeMap::new();
    if let Some(c) = only {
        let record = app.customer(c).await?;
        out.insert(record.id.clone(), record.reserved()?);
        return Ok(out);
    }
    let mut after: Option<String> = None;
    loop {
        let page = app
            .store
            .list_customers(
                Page {
                    limit: 100,
                    starting_after: after.as_deref(),
                },
                false,
            )
            .await?;
        for r in &page {
            let reserved = r.reserved()?;
            if !reserved.is_empty() {
                out.insert(r.id.clone(), reserved);
            }
        }
        match page.last() {
            Some(last) if page.len() == 100 => after = Some(last.id.clone()),
            _ => break,
        }
    }
    Ok(out)
}
