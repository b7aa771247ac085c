//! Reserved capacity with graduated overage tiers (seed 001's `reserved.json`): per customer and
//! meter, `reserved` units are prepaid; usage above them is overage. Each overage tier starts at
//! `threshold` overage units and prices the overage units above it at `price_per_unit` (major
//! units, exact Decimal) until the next tier's threshold; overage below the first threshold is
//! not billed. The sync planner turns the desired tiers into subscription-item actions and is a
//! fixed point: applying a plan and planning again yields nothing.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;

use super::CoreError;
use super::money::{Currency, MinorUnits, round_minor};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OverageTier {
    /// Overage units after which this tier's price applies.
    pub threshold: u64,
    /// Price per overage unit in major units (0.001 = a tenth of a cent), exact.
    pub price_per_unit: Decimal,
    /// The Stripe subscription item that bills this tier, when known.
    pub stripe_item: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReservedMeter {
    pub reserved: u64,
    pub tiers: Vec<OverageTier>,
}

impl ReservedMeter {
    pub fn validate(&self) -> Result<(), CoreError> {
        for pair in self.tiers.windows(2) {
            if pair[1].threshold <= pair[0].threshold {
                return Err(CoreError::InvalidTiers(format!(
                    "overage tier thresholds must increase: {} is not above {}",
                    pair[1].threshold, pair[0].threshold
                )));
            }
        }
        if let Some(t) = self
            .tiers
            .iter()
            .find(|t| t.price_per_unit.is_sign_negative() && !t.price_per_unit.is_zero())
        {
            return Err(CoreError::InvalidPrice(format!(
                "price_per_unit must not be negative (got {})",
                t.price_per_unit
            )));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReservedTierCharge {
    pub threshold: u64,
    pub units: u64,
    pub price_per_unit: Decimal,
    /// The price per unit in minor units, exact.
    pub unit_amount: Decimal,
    /// `units × unit_amount`, exact, before the single rounding.
    pub exact: Decimal,
    pub amount: MinorUnits,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReservedCharge {
    pub usage: u64,
    pub reserved: u64,
    pub overage: u64,
    pub tiers: Vec<ReservedTierCharge>,
    pub total: MinorUnits,
}

/// The overage charge for `usage` units of a reserved meter.
pub fn overage_charge(
    meter: &ReservedMeter,
    usage: u64,
    currency: Currency,
) -> Result<ReservedCharge, CoreError> {
    let overage = usage.saturating_sub(meter.reserved);
    let mut tiers = Vec::new();
    for (i, tier) in meter.tiers.iter().enumerate() {
        let upper = meter
            .tiers
            .get(i + 1)
            .map_or(overage, |next| next.threshold.min(overage));
        let units = upper.saturating_sub(tier.threshold);
        let unit_amount = currency.major_to_minor(tier.price_per_unit)?;
        let exact = unit_amount
            .checked_mul(Decimal::from(units))
            .ok_or(CoreError::Overflow)?;
        tiers.push(ReservedTierCharge {
            threshold: tier.threshold,
            units,
            price_per_unit: tier.price_per_unit,
            unit_amount,
            exact,
            amount: round_minor(exact)?,
        });
    }
    let total = tiers
        .iter()
        .try_fold(MinorUnits::ZERO, |acc, t| acc.checked_add(t.amount))?;
    Ok(ReservedCharge {
        usage,
        reserved: meter.reserved,
        overage,
        tiers,
        total,
    })
}

/// One tier as a subscription item: the key is `<meter>/<threshold>`. The item bills the
/// period's usage units above `band_start` up to `band_end` (reserved + thresholds) at
/// `price_per_unit`; units outside the band are free on this item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TierItem {
    pub key: String,
    pub price_per_unit: Decimal,
    pub band_start: u64,
    pub band_end: Option<u64>,
    pub item_id: Option<String>,
}

impl TierItem {
    fn same_terms(&self, other: &TierItem) -> bool {
        (self.price_per_unit, self.band_start, self.band_end)
            == (other.price_per_unit, other.band_start, other.band_end)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ItemAction {
    Add {
        key: String,
        price_per_unit: Decimal,
        band_start: u64,
        band_end: Option<u64>,
    },
    Update {
        key: String,
        item_id: Option<String>,
        from: Decimal,
        to: Decimal,
        band_start: u64,
        band_end: Option<u64>,
    },
    Remove {
        key: String,
        item_id: Option<String>,
    },
}

/// The desired items of a customer's reserved meters.
pub fn desired_items(meters: &BTreeMap<String, ReservedMeter>) -> Vec<TierItem> {
    meters
        .iter()
        .flat_map(|(meter, m)| {
            m.tiers.iter().enumerate().map(move |(i, t)| TierItem {
                key: format!("{meter}/{}", t.threshold),
                price_per_unit: t.price_per_unit,
                band_start: m.reserved.saturating_add(t.threshold),
                band_end: m
                    .tiers
                    .get(i + 1)
                    .map(|next| m.reserved.saturating_add(next.threshold)),
                item_id: t.stripe_item.clone(),
            })
        })
        .collect()
}

/// Actions that turn `current` into `desired` (matched by key, prices compared exactly).
pub fn plan_items(desired: &[TierItem], current: &[TierItem]) -> Vec<ItemAction> {
    let current_by_key: BTreeMap<&str, &TierItem> =
        current.iter().map(|i| (i.key.as_str(), i)).collect();
    let desired_keys: std::collections::BTreeSet<&str> =
        desired.iter().map(|i| i.key.as_str()).collect();
    let mut actions = Vec::new();
    for want in desired {
        match current_by_key.get(want.key.as_str()) {
            None => actions.push(ItemAction::Add {
                key: want.key.clone(),
                price_per_unit: want.price_per_unit,
                band_start: want.band_start,
                band_end: want.band_end,
            }),
            Some(have) if !have.same_terms(want) => actions.push(ItemAction::Update {
                key: want.key.clone(),
                item_id: have.item_id.clone(),
                from: have.price_per_unit,
                to: want.price_per_unit,
                band_start: want.band_start,
                band_end: want.band_end,
            }),
            Some(_) => {}
        }
    }
    for have in current {
        if !desired_keys.contains(have.key.as_str()) {
            actions.push(ItemAction::Remove {
                key: have.key.clone(),
                item_id: have.item_id.clone(),
            });
        }
    }
    actions
}

/// The items after applying `actions` to `current` (what Stripe would hold afterwards).
pub fn apply_items(current: &[TierItem], actions: &[ItemAction]) -> Vec<TierItem> {
    let mut items: BTreeMap<String, TierItem> =
        current.iter().map(|i| (i.key.clone(), i.clone())).collect();
    for action in actions {
        match action {
            ItemAction::Add {
                key,
                price_per_unit,
                band_start,
                band_end,
            } => {
                items.insert(
                    key.clone(),
                    TierItem {
                        key: key.clone(),
                        price_per_unit: *price_per_unit,
                        band_start: *band_start,
                        band_end: *band_end,
                        item_id: None,
                    },
                );
            }
            ItemAction::Update {
                key,
                to,
                band_start,
                band_end,
                ..
            } => {
                if let Some(item) = items.get_mut(key) {
                    item.price_per_unit = *to;
                    item.band_start = *band_start;
                    item.band_end = *band_end;
                }
            }
            ItemAction::Remove { key, .. } => {
                items.remove(key);
            }
        }
    }
    items.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    /// Seed 001's acme: vex reserved 10,000 with a tier at 5,000 overage units for $0.01;
    /// fu reserved 50,000 with a tier at 25,000 for $0.001.
    fn acme() -> BTreeMap<String, ReservedMeter> {
        BTreeMap::from([
            (
                "vex".to_string(),
                ReservedMeter {
                    reserved: 10_000,
                    tiers: vec![OverageTier {
                        threshold: 5000,
                        price_per_unit: d("0.01"),
                        stripe_item: Some("si_acme_vex_tier1".into()),
                    }],
                },
            ),
            (
                "fu".to_string(),
                ReservedMeter {
                    reserved: 50_000,
                    tiers: vec![OverageTier {
                        threshold: 25_000,
                        price_per_unit: d("0.001"),
                        stripe_item: Some("si_acme_fu_tier1".into()),
                    }],
                },
            ),
        ])
    }

    #[test]
    fn seed_001_acme_overage() {
        let meters = acme();
        // vex: 17,000 used → 7,000 overage → 2,000 above the threshold × $0.01 = $20.00
        let vex = overage_charge(&meters["vex"], 17_000, Currency::USD).unwrap();
        assert_eq!((vex.overage, vex.total), (7000, MinorUnits(2000)));
        // fu: 80,001 used → 30,001 overage → 5,001 × $0.001 = 500.1¢ → 500¢
        let fu = overage_charge(&meters["fu"], 80_001, Currency::USD).unwrap();
        assert_eq!(fu.total, MinorUnits(500));
        // under the reservation nothing is billed
        assert_eq!(
            overage_charge(&meters["fu"], 40_000, Currency::USD)
                .unwrap()
                .total,
            MinorUnits(0)
        );
    }

    #[test]
    fn tiers_price_their_own_band() {
        let meter = ReservedMeter {
            reserved: 100,
            tiers: vec![
                OverageTier {
                    threshold: 0,
                    price_per_unit: d("0.02"),
                    stripe_item: None,
                },
                OverageTier {
                    threshold: 50,
                    price_per_unit: d("0.01"),
                    stripe_item: None,
                },
            ],
        };
        // 180 used → 80 overage: 50 × 2¢ + 30 × 1¢
        assert_eq!(
            overage_charge(&meter, 180, Currency::USD).unwrap().total,
            MinorUnits(130)
        );
    }

    #[test]
    fn desired_items_against_stripe_items_plan_adds_updates_removes() {
        let desired = desired_items(&acme());
        let current = vec![
            TierItem {
                key: "vex/5000".into(),
                price_per_unit: d("0.02"),
                band_start: 15_000,
                band_end: None,
                item_id: Some("si_1".into()),
            },
            TierItem {
                key: "old/1".into(),
                price_per_unit: d("1"),
                band_start: 1,
                band_end: None,
                item_id: Some("si_2".into()),
            },
        ];
        let actions = plan_items(&desired, &current);
        assert_eq!(actions.len(), 3);
        assert!(actions.contains(&ItemAction::Add {
            key: "fu/25000".into(),
            price_per_unit: d("0.001"),
            band_start: 75_000,
            band_end: None,
        }));
    }

    fn arb_items() -> impl Strategy<Value = Vec<TierItem>> {
        prop::collection::btree_map(
            0_u32..8,
            (0_i64..5000, 0_u64..3, prop::option::of(3_u64..6)),
            0..6,
        )
        .prop_map(|m| {
            m.into_iter()
                .map(|(k, (p, start, end))| TierItem {
                    key: format!("m/{k}"),
                    price_per_unit: Decimal::new(p, 3),
                    band_start: start,
                    band_end: end,
                    item_id: None,
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn applying_a_plan_then_planning_again_is_empty(desired in arb_items(), current in arb_items()) {
            let actions = plan_items(&desired, &current);
            let after = apply_items(&current, &actions);
            prop_assert!(plan_items(&desired, &after).is_empty());
        }
    }
}
