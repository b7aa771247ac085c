//! What one request costs: the price of the asked units at the tier that applies, and the
//! meter's charge for the allowance span before and after them. The asked units' price is never
//! negative: under a volume price they cost the unit price of the tier the new total falls in
//! (the tier's flat fee comes with the first unit in it), even when reaching that tier lowers the
//! whole span's charge — `before` and `after` show that effect.

use rust_decimal::Decimal;

use super::CoreError;
use super::entitlement::UsageSoFar;
use super::money::{Currency, MinorUnits, round_minor};
use super::plan::PlanMeter;
use super::reserved::{ReservedMeter, overage_charge};
use super::tier::{PriceModel, TiersMode, tier_for};
use super::usage::Aggregation;

/// A request's price and the span's charge around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charge {
    pub amount: MinorUnits,
    pub before: MinorUnits,
    pub after: MinorUnits,
}

/// The price of `extra` units after `already` billable units of `price`.
pub fn asked_units(price: &PriceModel, already: u64, extra: u64) -> Result<Charge, CoreError> {
    let total = already.checked_add(extra).ok_or(CoreError::Overflow)?;
    let before = price.price(already)?.total;
    let after = price.price(total)?.total;
    let amount = match price {
        PriceModel::Tiered {
            mode: TiersMode::Volume,
            tiers,
        } if extra > 0 => {
            let (index, tier) = tier_for(tiers, total)?;
            let entering = already == 0 || tier_for(tiers, already)?.0 != index;
            let flat = if entering {
                tier.flat_amount.to_decimal()
            } else {
                Decimal::ZERO
            };
            let exact = tier
                .unit_amount
                .checked_mul(Decimal::from(extra))
                .and_then(|u| u.checked_add(flat))
                .ok_or(CoreError::Overflow)?;
            round_minor(exact)?
        }
        _ => after.checked_sub(before)?,
    };
    Ok(Charge {
        amount,
        before,
        after,
    })
}

/// The price of `increase` more units of a meter for a customer: reserved capacity first, then
/// the priced dimension value's own price, then the meter's price above the included units.
/// `None` when nothing prices this usage.
pub fn request_cost(
    terms: &PlanMeter,
    reserved: Option<&ReservedMeter>,
    priced_value: Option<&str>,
    usage: &UsageSoFar,
    aggregation: Aggregation,
    increase: u64,
    currency: Currency,
) -> Result<Option<Charge>, CoreError> {
    if let Some(r) = reserved {
        let used = usage.period_total;
        let before = overage_charge(r, used, currency)?.total;
        let after = overage_charge(
            r,
            value_after(aggregation, usage, used, increase)?,
            currency,
        )?
        .total;
        return Ok(Some(Charge {
            amount: after.checked_sub(before)?,
            before,
            after,
        }));
    }
    if let Some(price) = priced_value.and_then(|v| terms.dimension_prices.get(v)) {
        return asked_units(price, usage.allowance_own, increase).map(Some);
    }
    let Some(price) = &terms.price else {
        return Ok(None);
    };
    let before = usage.allowance_generic.saturating_sub(terms.included);
    let after = value_after(aggregation, usage, usage.allowance_generic, increase)?
        .saturating_sub(terms.included);
    asked_units(price, before, after.saturating_sub(before)).map(Some)
}

/// The meter's quantity after the request: a sum grows by `increase`; a level meter's level
/// becomes its current level plus `increase`, which for `max` counts only above the peak so far.
fn value_after(
    aggregation: Aggregation,
    usage: &UsageSoFar,
    now: u64,
    increase: u64,
) -> Result<u64, CoreError> {
    let raised = |from: u64| from.checked_add(increase).ok_or(CoreError::Overflow);
    match (aggregation, usage.level) {
        (Aggregation::Max, Some(level)) => Ok(now.max(raised(level)?)),
        (Aggregation::Last, Some(level)) => raised(level),
        _ => raised(now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::tier::Tier;
    use proptest::prelude::*;

    fn per_call_volume() -> PriceModel {
        let tier = |up_to, unit: i64| Tier {
            up_to,
            unit_amount: Decimal::from(unit),
            flat_amount: MinorUnits(0),
        };
        PriceModel::Tiered {
            mode: TiersMode::Volume,
            tiers: vec![tier(Some(99), 50), tier(Some(999), 40), tier(None, 30)],
        }
    }

    #[test]
    fn the_call_that_reaches_a_cheaper_volume_tier_costs_that_tiers_price() {
        // seed 000's per-call volume price: 99 calls are 99 × 50¢; the 100th puts all 100 at 40¢
        let c = asked_units(&per_call_volume(), 99, 1).unwrap();
        assert_eq!(c.amount, MinorUnits(40));
        assert_eq!((c.before, c.after), (MinorUnits(4950), MinorUnits(4000)));
    }

    proptest! {
        #[test]
        fn no_request_ever_costs_less_than_nothing(already in 0_u64..5_000, extra in 0_u64..2_000) {
            let c = asked_units(&per_call_volume(), already, extra).unwrap();
            prop_assert!(c.amount >= MinorUnits::ZERO);
        }
    }
}
