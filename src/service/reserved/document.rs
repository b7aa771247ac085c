//! Seed 001's `reserved.json` read exactly: per customer `<meter>_reserved` and
//! `<meter>_overage_tiers`, decimal prices taken from the JSON text itself (never through a
//! float), unknown fields, bad prices, decreasing thresholds and unknown meters refused with the
//! place named.

use std::collections::BTreeMap;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::core::reserved::{OverageTier, ReservedMeter};
use crate::core::text::{self, quote};
use crate::service::BillingError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTier {
    threshold: u64,
    price_per_unit: Box<RawValue>,
    stripe_item: Option<String>,
}

/// A decimal exactly as written in the JSON text: `0.001` or `"0.001"`.
fn exact(raw: &RawValue, at: &str) -> Result<Decimal, BillingError> {
    let text = raw.get().trim();
    let text = match serde_json::from_str::<String>(text) {
        Ok(s) => s,
        Err(_) => text.to_string(),
    };
    Decimal::from_str(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .map_err(|_| {
            BillingError::invalid(format!(
                "{at}: price_per_unit `{}` is not a decimal number (e.g. 0.001)",
                quote(&text)
            ))
        })
}

/// Parse reserved.json: customer → meter → reserved units and overage tiers.
pub fn parse_document(
    text: &str,
) -> Result<BTreeMap<String, BTreeMap<String, ReservedMeter>>, BillingError> {
    let raw: BTreeMap<String, BTreeMap<String, Box<RawValue>>> = serde_json::from_str(text)
        .map_err(|e| BillingError::invalid(format!("reserved_json is not reserved.json ({{\"<customer>\": {{\"<meter>_reserved\": …, \"<meter>_overage_tiers\": […]}}}}): {e}")))?;
    let mut out = BTreeMap::new();
    for (customer, fields) in raw {
        text::check(&customer, "a customer in reserved_json", 128, false)
            .map_err(BillingError::invalid)?;
        let mut meters: BTreeMap<String, ReservedMeter> = BTreeMap::new();
        for (field, value) in fields {
            text::check(&field, "a field in reserved_json", 128, false)
                .map_err(BillingError::invalid)?;
            let at = format!("{}.{}", quote(&customer), quote(&field));
            if let Some(meter) = field.strip_suffix("_overage_tiers") {
                let tiers: Vec<RawTier> = serde_json::from_str(value.get()).map_err(|e| {
                    BillingError::invalid(format!(
                        "{at}: a list of {{threshold, price_per_unit, stripe_item}} expected: {e}"
                    ))
                })?;
                let entry = meters.entry(meter.to_string()).or_insert_with(empty);
                for t in tiers {
                    if let Some(item) = &t.stripe_item {
                        text::check(item, &format!("{at}: stripe_item"), 255, false)
                            .map_err(BillingError::invalid)?;
                    }
                    entry.tiers.push(OverageTier {
                        threshold: t.threshold,
                        price_per_unit: exact(&t.price_per_unit, &at)?,
                        stripe_item: t.stripe_item,
                    });
                }
            } else if let Some(meter) = field.strip_suffix("_reserved") {
                let units: u64 = serde_json::from_str(value.get()).map_err(|_| {
                    BillingError::invalid(format!(
                        "{at}: reserved units must be a whole number ≥ 0"
                    ))
                })?;
                meters
                    .entry(meter.to_string())
                    .or_insert_with(empty)
                    .reserved = units;
            } else {
                return Err(BillingError::invalid(format!(
                    "{at}: unknown field; expected <meter>_reserved or <meter>_overage_tiers"
                )));
            }
        }
        for (meter, m) in &meters {
            m.validate().map_err(|e| {
                BillingError::invalid(format!("{}.{}: {e}", quote(&customer), quote(meter)))
            })?;
        }
        out.insert(customer, meters);
    }
    Ok(out)
}

pub fn empty() -> ReservedMeter {
    ReservedMeter {
        reserved: 0,
        tiers: Vec::new(),
    }
}
