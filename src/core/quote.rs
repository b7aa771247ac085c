//! Quotes: what the next units of a price cost, slice by tier, rounded once (the difference of
//! the rounded totals after and before, so a series of quotes adds up to the invoice line).

use std::collections::BTreeMap;

use serde::Serialize;

use super::CoreError;
use super::money::MinorUnits;
use super::tier::{PriceModel, TierSlice};

/// One slice of a quote: how many of the quoted units fall in a tier and what they add.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuoteLine {
    pub tier: usize,
    pub quantity: i64,
    pub unit_amount: String,
    pub flat_amount: i64,
    pub amount: String,
}

/// What `quantity` more units cost after `already` billable units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Quote {
    pub quantity: u64,
    pub already_billable: u64,
    pub lines: Vec<QuoteLine>,
    /// Rounded total after the units minus rounded total before.
    pub amount: MinorUnits,
}

/// Price the next `quantity` units of `price` after `already` units: per-tier differences
/// (slices for graduated, the tier switch for volume) and the marginal amount.
pub fn quote(price: &PriceModel, already: u64, quantity: u64) -> Result<Quote, CoreError> {
    let before = price.price(already)?;
    let after = price.price(already.checked_add(quantity).ok_or(CoreError::Overflow)?)?;
    let mut by_tier: BTreeMap<usize, (i64, Option<&TierSlice>, rust_decimal::Decimal, i64)> =
        BTreeMap::new();
    for (sign, slices) in [(1_i64, &after.slices), (-1, &before.slices)] {
        for s in slices {
            let e = by_tier
                .entry(s.tier)
                .or_insert((0, None, rust_decimal::Decimal::ZERO, 0));
            e.0 += sign * i64::try_from(s.quantity).map_err(|_| CoreError::Overflow)?;
            e.1 = e.1.or(Some(s));
            e.2 += rust_decimal::Decimal::from(sign) * s.exact;
            e.3 += sign * s.flat_amount.0;
        }
    }
    let lines = by_tier
        .into_iter()
        .filter(|(_, (q, _, exact, _))| *q != 0 || !exact.is_zero())
        .map(|(tier, (q, s, exact, flat))| QuoteLine {
            tier,
            quantity: q,
            unit_amount: s
                .map(|s| s.unit_amount.normalize().to_string())
                .unwrap_or_default(),
            flat_amount: flat,
            amount: exact.normalize().to_string(),
        })
        .collect();
    Ok(Quote {
        quantity,
        already_billable: already,
        lines,
        amount: after.total.checked_sub(before.total)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::tier::{Tier, TiersMode};
    use rust_decimal::Decimal;
    use std::str::FromStr;

    #[test]
    fn quote_slices_graduated_units_by_tier() {
        let price = PriceModel::Tiered {
            mode: TiersMode::Graduated,
            tiers: vec![
                Tier {
                    up_to: Some(100),
                    unit_amount: Decimal::from_str("0.5").unwrap(),
                    flat_amount: MinorUnits(0),
                },
                Tier {
                    up_to: None,
                    unit_amount: Decimal::from_str("0.25").unwrap(),
                    flat_amount: MinorUnits(0),
                },
            ],
        };
        // 95 already: 5 units at 0.5 and 10 at 0.25 = 2.5 + 2.5 = 5; totals 47.5→48 and 52.5→53
        let q = quote(&price, 95, 15).unwrap();
        assert_eq!(
            q.lines.iter().map(|l| l.quantity).collect::<Vec<_>>(),
            vec![5, 10]
        );
        assert_eq!(q.amount, MinorUnits(53 - 48));
    }
}
