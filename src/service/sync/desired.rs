//! What Stripe should hold for the catalog (pure): a billing meter per catalog meter, a product
//! per plan that has a price, a licensed base price per plan and interval (`<plan>_monthly`,
//! `<plan>_yearly`) and a metered overage price per plan, meter and interval
//! (`<plan>_<meter>_monthly`). Included units become a free first tier, so Stripe bills exactly
//! the units the ledger prices. Whatever Stripe cannot express is listed as skipped, with why.

use rust_decimal::Decimal;
use serde::Serialize;
use sha2::Digest;

use crate::catalog::{Aggregation, Catalog, Meter};
use crate::core::MinorUnits;
use crate::core::period::Interval;
use crate::core::plan::{Plan, PlanMeter};
use crate::core::tier::{PriceModel, Tier, TiersMode};
use crate::stripe::catalog::Aggregation as Formula;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WantMeter {
    /// The catalog meter id.
    pub meter: String,
    pub event_name: String,
    pub display_name: String,
    /// Stripe's aggregation formula: sum, count or last.
    pub formula: Formula,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WantProduct {
    pub plan: String,
    pub name: String,
    pub description: Option<String>,
}

/// A price exactly as it should exist: everything here is immutable at Stripe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PriceSpec {
    pub currency: String,
    /// month or year.
    pub interval: &'static str,
    /// The event name of the meter a metered price reads; none for a licensed price.
    pub event_name: Option<String>,
    /// Amounts in minor units.
    pub amount: PriceModel,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WantPrice {
    pub lookup_key: String,
    pub plan: String,
    /// The catalog meter of an overage price.
    pub meter: Option<String>,
    pub nickname: String,
    pub spec: PriceSpec,
    /// A digest of plan + spec, kept in the price's metadata: a price is current when it matches.
    pub fingerprint: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Skipped {
    pub object: &'static str,
    pub key: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Desired {
    pub meters: Vec<WantMeter>,
    pub products: Vec<WantProduct>,
    pub prices: Vec<WantPrice>,
    pub skipped: Vec<Skipped>,
}

/// Stripe's formula for a catalog aggregation (Stripe meters know sum, count and last).
pub fn formula(aggregation: Aggregation) -> Option<Formula> {
    match aggregation {
        Aggregation::Sum => Some(Formula::Sum),
        Aggregation::Count => Some(Formula::Count),
        Aggregation::Last => Some(Formula::Last),
        Aggregation::Max | Aggregation::Unique => None,
    }
}

/// A short, stable digest of any serializable value.
pub fn fingerprint(value: &impl Serialize) -> String {
    let text = serde_json::to_string(value).unwrap_or_default();
    hex::encode(&sha2::Sha256::digest(text.as_bytes())[..8])
}

pub fn desired(catalog: &Catalog) -> Desired {
    let mut out = Desired::default();
    for meter in catalog.meters.values() {
        match formula(meter.aggregation) {
            Some(formula) => out.meters.push(WantMeter {
                meter: meter.id.clone(),
                event_name: meter.event_name.clone(),
                display_name: meter.description.clone().unwrap_or_else(|| meter.id.clone()),
                formula,
            }),
            None => out.skipped.push(Skipped {
                object: "meter",
                key: meter.id.clone(),
                reason: format!(
                    "aggregates by {}; Stripe meters sum, count or take the last value, so its usage is billed by the ledger only (preview_invoice)",
                    crate::stripe::wire(meter.aggregation)
                ),
            }),
        }
    }
    for plan in catalog.plans.values() {
        let before = out.prices.len();
        plan_prices(catalog, plan, &mut out);
        if out.prices.len() > before {
            out.products.push(WantProduct {
                plan: plan.id.clone(),
                name: plan.name.clone(),
                description: plan.description.clone(),
            });
        }
    }
    out
}

/// The intervals a plan is sold by: those with a base price, else monthly (usage only).
fn intervals(plan: &Plan) -> Vec<Interval> {
    let mut all = Vec::new();
    if plan.monthly.is_some() {
        all.push(Interval::Month);
    }
    if plan.yearly.is_some() {
        all.push(Interval::Year);
    }
    if all.is_empty() {
        all.push(Interval::Month);
    }
    all
}

fn adjective(interval: Interval) -> &'static str {
    match interval {
        Interval::Month => "monthly",
        Interval::Year => "yearly",
    }
}

fn plan_prices(catalog: &Catalog, plan: &Plan, out: &mut Desired) {
    let currency = plan.currency.code().to_string();
    for interval in intervals(plan) {
        let word = adjective(interval);
        let stripe_interval = match interval {
            Interval::Month => "month",
            Interval::Year => "year",
        };
        if let Some(base) = match interval {
            Interval::Month => plan.monthly,
            Interval::Year => plan.yearly,
        } {
            push_price(
                out,
                plan,
                None,
                format!("{}_{word}", plan.id),
                format!("{} ({word})", plan.name),
                PriceSpec {
                    currency: currency.clone(),
                    interval: stripe_interval,
                    event_name: None,
                    amount: PriceModel::PerUnit {
                        unit_amount: Decimal::from(base.0),
                    },
                },
            );
        }
        for (meter_id, terms) in &plan.meters {
            let key = format!("{}_{meter_id}_{word}", plan.id);
            let Some(meter) = catalog.meters.get(meter_id) else {
                continue;
            };
            match overage(meter, terms) {
                Ok(Some(amount)) => push_price(
                    out,
                    plan,
                    Some(meter_id),
                    key,
                    format!("{} {meter_id} usage ({word})", plan.name),
                    PriceSpec {
                        currency: currency.clone(),
                        interval: stripe_interval,
                        event_name: Some(meter.event_name.clone()),
                        amount,
                    },
                ),
                Ok(None) => {}
                Err(reason) => out.skipped.push(Skipped {
                    object: "price",
                    key,
                    reason,
                }),
            }
            if !terms.dimension_prices.is_empty() {
                let tools: Vec<&str> = terms.dimension_prices.keys().map(String::as_str).collect();
                out.skipped.push(Skipped {
                    object: "price",
                    key: format!("{}_{meter_id}_tools", plan.id),
                    reason: format!(
                        "prices by {} ({}) need a Stripe meter per value; the ledger prices that usage, Stripe bills it at the meter's price",
                        meter.price_dimension,
                        tools.join(", ")
                    ),
                });
            }
        }
    }
}

fn push_price(
    out: &mut Desired,
    plan: &Plan,
    meter: Option<&String>,
    lookup_key: String,
    nickname: String,
    spec: PriceSpec,
) {
    out.prices.push(WantPrice {
        fingerprint: fingerprint(&(&plan.id, &spec)),
        lookup_key,
        plan: plan.id.clone(),
        meter: meter.cloned(),
        nickname,
        spec,
    });
}

/// The Stripe amount of a plan's usage price for one meter: none when usage is free; an error
/// (the reason) when Stripe cannot bill it as the ledger does.
fn overage(meter: &Meter, terms: &PlanMeter) -> Result<Option<PriceModel>, String> {
    let Some(price) = &terms.price else {
        return Ok(None);
    };
    if formula(meter.aggregation).is_none() {
        return Err(format!(
            "meter {} has no Stripe meter (aggregation {}); the ledger bills it",
            meter.id,
            crate::stripe::wire(meter.aggregation)
        ));
    }
    let included = terms.included;
    if included == 0 {
        return Ok(Some(price.clone()));
    }
    let free = Tier {
        up_to: Some(included),
        unit_amount: Decimal::ZERO,
        flat_amount: MinorUnits::ZERO,
    };
    match price {
        PriceModel::PerUnit { unit_amount } => Ok(Some(PriceModel::Tiered {
            mode: TiersMode::Graduated,
            tiers: vec![
                free,
                Tier {
                    up_to: None,
                    unit_amount: *unit_amount,
                    flat_amount: MinorUnits::ZERO,
                },
            ],
        })),
        PriceModel::Tiered {
            mode: TiersMode::Graduated,
            tiers,
        } => {
            let mut shifted = vec![free];
            for t in tiers {
                shifted.push(Tier {
                    up_to: t.up_to.map(|u| u.saturating_add(included)),
                    ..t.clone()
                });
            }
            Ok(Some(PriceModel::Tiered {
                mode: TiersMode::Graduated,
                tiers: shifted,
            }))
        }
        _ => Err(format!(
            "{} included units with a volume or package price: Stripe would apply the price to every unit, the ledger only to those above the included; the ledger bills it",
            included
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Catalog {
        let text = include_str!("../../../examples/billing.toml");
        Catalog::parse(text, "billing.toml").unwrap()
    }

    #[test]
    fn example_catalog_wants_base_and_usage_prices_by_lookup_key() {
        let want = desired(&example());
        let keys: Vec<&str> = want.prices.iter().map(|p| p.lookup_key.as_str()).collect();
        for k in [
            "starter_monthly",
            "starter_yearly",
            "starter_tool_calls_monthly",
            "starter_tool_calls_yearly",
            "per_call_tool_calls_monthly",
            "metered_tool_calls_monthly",
            "forensics_monthly",
            "forensics_cases_monthly",
            "forensics_api_calls_monthly",
        ] {
            assert!(keys.contains(&k), "{k} missing from {keys:?}");
        }
        // no product for plans without a price
        assert!(
            !want
                .products
                .iter()
                .any(|p| p.plan == "free" || p.plan == "credits")
        );
        // agents aggregates by max: no Stripe meter, no price, both said
        assert!(!want.meters.iter().any(|m| m.meter == "agents"));
        assert!(
            want.skipped
                .iter()
                .any(|s| s.key == "forensics_agents_monthly")
        );
    }

    #[test]
    fn included_units_become_a_free_first_tier() {
        let want = desired(&example());
        let usage = want
            .prices
            .iter()
            .find(|p| p.lookup_key == "starter_tool_calls_monthly")
            .unwrap();
        let PriceModel::Tiered { mode, tiers } = &usage.spec.amount else {
            panic!("tiered expected");
        };
        assert_eq!(*mode, TiersMode::Graduated);
        assert_eq!(tiers[0].up_to, Some(1000));
        assert_eq!(tiers[0].unit_amount, Decimal::ZERO);
        assert_eq!(
            (tiers[1].up_to, tiers[1].unit_amount),
            (None, Decimal::from(5))
        );
        assert_eq!(usage.spec.event_name.as_deref(), Some("tool_call_executed"));
    }

    #[test]
    fn a_changed_amount_changes_the_fingerprint_and_nothing_else_does() {
        let a = desired(&example());
        let b = desired(&example());
        assert_eq!(a, b);
        let text = include_str!("../../../examples/billing.toml")
            .replace("monthly = 2900", "monthly = 3900");
        let c = desired(&Catalog::parse(&text, "billing.toml").unwrap());
        let fp = |d: &Desired, k: &str| {
            d.prices
                .iter()
                .find(|p| p.lookup_key == k)
                .unwrap()
                .fingerprint
                .clone()
        };
        assert_ne!(fp(&a, "starter_monthly"), fp(&c, "starter_monthly"));
        assert_eq!(fp(&a, "starter_yearly"), fp(&c, "starter_yearly"));
    }
}
