//! Price models with Stripe's semantics: per-unit (with a Decimal rate), tiered `graduated`
//! (each unit priced by the tier it falls in), tiered `volume` (all units priced by the tier the
//! total falls in) and `package` (a price per block of N units, rounded up or down). The exact
//! total is a Decimal; it is rounded once, by [`super::round_minor`], when a line is produced.

mod slices;
mod validate;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{CoreError, MinorUnits, round_minor};
use slices::{graduated, package, slice, volume};

pub use slices::tier_for;

/// One tier: units up to `up_to` (inclusive; `None` = unbounded, only for the last tier) cost
/// `unit_amount` minor units each (Decimal, so 0.5 cents is exact), plus `flat_amount` once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tier {
    pub up_to: Option<u64>,
    pub unit_amount: Decimal,
    pub flat_amount: MinorUnits,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TiersMode {
    Graduated,
    Volume,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PackageRounding {
    Up,
    Down,
}

/// How a quantity of units is priced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "scheme")]
pub enum PriceModel {
    PerUnit {
        unit_amount: Decimal,
    },
    Tiered {
        mode: TiersMode,
        tiers: Vec<Tier>,
    },
    Package {
        size: u64,
        amount: MinorUnits,
        rounding: PackageRounding,
    },
}

/// The part of a quantity that one tier (or the whole per-unit/package price) priced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TierSlice {
    /// 1-based tier number (1 for per-unit and package prices).
    pub tier: usize,
    /// First and last unit of the slice (1-based, inclusive); absent for an empty slice.
    pub from_unit: u64,
    pub to_unit: Option<u64>,
    pub quantity: u64,
    pub unit_amount: Decimal,
    pub flat_amount: MinorUnits,
    /// Exact amount of this slice, before the single rounding.
    pub exact: Decimal,
}

/// A priced quantity: slices, the exact total and the rounded total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Priced {
    pub quantity: u64,
    pub slices: Vec<TierSlice>,
    pub exact: Decimal,
    pub total: MinorUnits,
}

impl PriceModel {
    /// Price `quantity` units from zero.
    pub fn price(&self, quantity: u64) -> Result<Priced, CoreError> {
        let slices = match self {
            PriceModel::PerUnit { unit_amount } => {
                vec![slice(1, 0, quantity, *unit_amount, MinorUnits::ZERO)?]
            }
            PriceModel::Package {
                size,
                amount,
                rounding,
            } => vec![package(*size, *amount, *rounding, quantity)?],
            PriceModel::Tiered {
                mode: TiersMode::Graduated,
                tiers,
            } => graduated(tiers, quantity)?,
            PriceModel::Tiered {
                mode: TiersMode::Volume,
                tiers,
            } => volume(tiers, quantity)?,
        };
        let exact = slices
            .iter()
            .try_fold(Decimal::ZERO, |acc, s| acc.checked_add(s.exact))
            .ok_or(CoreError::Overflow)?;
        Ok(Priced {
            quantity,
            slices,
            exact,
            total: round_minor(exact)?,
        })
    }

    /// What `extra` more units cost after `already` units: the difference of the rounded totals,
    /// so a series of quotes adds up to the invoice.
    pub fn marginal(&self, already: u64, extra: u64) -> Result<MinorUnits, CoreError> {
        let after = already.checked_add(extra).ok_or(CoreError::Overflow)?;
        self.price(after)?
            .total
            .checked_sub(self.price(already)?.total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn tier(up_to: Option<u64>, unit: &str, flat: i64) -> Tier {
        Tier {
            up_to,
            unit_amount: d(unit),
            flat_amount: MinorUnits(flat),
        }
    }

    /// Seed 000's per-call bulk tiers: 50¢ a call, 40¢ from 100 calls, 30¢ from 1,000.
    fn seed_bulk(mode: TiersMode) -> PriceModel {
        PriceModel::Tiered {
            mode,
            tiers: vec![
                tier(Some(99), "50", 0),
                tier(Some(999), "40", 0),
                tier(None, "30", 0),
            ],
        }
    }

    #[test]
    fn graduated_prices_each_unit_by_its_own_tier() {
        // 99×50 + 900×40 + 1×30 = 4950 + 36000 + 30
        let priced = seed_bulk(TiersMode::Graduated).price(1000).unwrap();
        assert_eq!(priced.total, MinorUnits(40_980));
        assert_eq!(
            priced.slices.iter().map(|s| s.quantity).collect::<Vec<_>>(),
            vec![99, 900, 1]
        );
        assert_eq!(priced.slices[1].from_unit, 100);
        assert_eq!(priced.slices[1].to_unit, Some(999));
    }

    #[test]
    fn volume_prices_all_units_by_the_tier_of_the_total() {
        assert_eq!(
            seed_bulk(TiersMode::Volume).price(1000).unwrap().total,
            MinorUnits(30_000)
        );
        assert_eq!(
            seed_bulk(TiersMode::Volume).price(99).unwrap().total,
            MinorUnits(4_950)
        );
        assert_eq!(
            seed_bulk(TiersMode::Volume).price(100).unwrap().total,
            MinorUnits(4_000)
        );
    }

    #[test]
    fn flat_amounts_are_charged_once_per_reached_tier() {
        let model = PriceModel::Tiered {
            mode: TiersMode::Graduated,
            tiers: vec![tier(Some(10), "0", 500), tier(None, "2", 100)],
        };
        assert_eq!(model.price(0).unwrap().total, MinorUnits(0));
        assert_eq!(model.price(10).unwrap().total, MinorUnits(500));
        assert_eq!(model.price(11).unwrap().total, MinorUnits(602));
    }

    #[test]
    fn sub_cent_rates_are_exact_and_rounded_once() {
        // 0.001 dollars = 0.1 cents per unit; 12,345 units = 1234.5 cents → 1235 (half away from zero)
        let model = PriceModel::PerUnit {
            unit_amount: d("0.1"),
        };
        let priced = model.price(12_345).unwrap();
        assert_eq!(priced.exact, d("1234.5"));
        assert_eq!(priced.total, MinorUnits(1235));
        // graduated with a decimal tier: 1000×0.25 + 3×0.125 = 250.375 → 250
        let model = PriceModel::Tiered {
            mode: TiersMode::Graduated,
            tiers: vec![tier(Some(1000), "0.25", 0), tier(None, "0.125", 0)],
        };
        assert_eq!(model.price(1003).unwrap().total, MinorUnits(250));
    }

    #[test]
    fn packages_round_blocks_up_or_down() {
        // seed 003: $0.10 per 1000 API calls
        let up = PriceModel::Package {
            size: 1000,
            amount: MinorUnits(10),
            rounding: PackageRounding::Up,
        };
        let down = PriceModel::Package {
            size: 1000,
            amount: MinorUnits(10),
            rounding: PackageRounding::Down,
        };
        assert_eq!(up.price(2001).unwrap().total, MinorUnits(30));
        assert_eq!(down.price(2001).unwrap().total, MinorUnits(20));
        assert_eq!(up.price(0).unwrap().total, MinorUnits(0));
    }

    #[test]
    fn marginal_cost_is_the_difference_of_rounded_totals() {
        let model = seed_bulk(TiersMode::Graduated);
        assert_eq!(model.marginal(98, 3).unwrap(), MinorUnits(50 + 40 + 40));
        let volume = seed_bulk(TiersMode::Volume);
        // crossing into the cheaper volume tier lowers the whole total
        assert_eq!(volume.marginal(99, 1).unwrap(), MinorUnits(4000 - 4950));
    }

    #[test]
    fn malformed_tiers_are_rejected_with_the_reason() {
        let out_of_order = PriceModel::Tiered {
            mode: TiersMode::Graduated,
            tiers: vec![
                tier(Some(100), "5", 0),
                tier(Some(50), "4", 0),
                tier(None, "3", 0),
            ],
        };
        assert!(
            matches!(out_of_order.validate(), Err(CoreError::InvalidTiers(m)) if m.contains("increasing"))
        );
        let bounded_last = PriceModel::Tiered {
            mode: TiersMode::Volume,
            tiers: vec![tier(Some(5), "1", 0)],
        };
        assert!(bounded_last.validate().is_err());
        let negative = PriceModel::PerUnit {
            unit_amount: d("-1"),
        };
        assert!(
            matches!(negative.validate(), Err(CoreError::InvalidPrice(m)) if m.contains("negative"))
        );
    }

    fn arb_tiers() -> impl Strategy<Value = Vec<Tier>> {
        prop::collection::vec((1_u64..500, 0_i64..10_000, 0_i64..1000), 1..5).prop_map(|raw| {
            let mut bound = 0;
            let mut tiers: Vec<Tier> = raw
                .iter()
                .map(|(step, unit, flat)| {
                    bound += step;
                    Tier {
                        up_to: Some(bound),
                        unit_amount: Decimal::new(*unit, 2),
                        flat_amount: MinorUnits(*flat),
                    }
                })
                .collect();
            if let Some(last) = tiers.last_mut() {
                last.up_to = None;
            }
            tiers
        })
    }

    proptest! {
        #[test]
        fn graduated_total_is_monotone(tiers in arb_tiers(), q in 0_u64..5000, extra in 0_u64..500) {
            let model = PriceModel::Tiered { mode: TiersMode::Graduated, tiers };
            prop_assert!(model.price(q + extra).unwrap().total >= model.price(q).unwrap().total);
        }

        #[test]
        fn one_tier_volume_equals_graduated(unit in 0_i64..100_000, flat in 0_i64..1000, q in 0_u64..100_000) {
            let tiers = vec![Tier { up_to: None, unit_amount: Decimal::new(unit, 3), flat_amount: MinorUnits(flat) }];
            let g = PriceModel::Tiered { mode: TiersMode::Graduated, tiers: tiers.clone() }.price(q).unwrap();
            let v = PriceModel::Tiered { mode: TiersMode::Volume, tiers }.price(q).unwrap();
            prop_assert_eq!(g.total, v.total);
        }

        #[test]
        fn graduated_slices_cover_the_quantity_exactly(tiers in arb_tiers(), q in 0_u64..5000) {
            let priced = PriceModel::Tiered { mode: TiersMode::Graduated, tiers }.price(q).unwrap();
            prop_assert_eq!(priced.slices.iter().map(|s| s.quantity).sum::<u64>(), q);
        }
    }
}
