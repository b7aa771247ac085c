//! How a quantity is cut into priced slices: a slice of units at one rate, a package's blocks,
//! the graduated walk through the tiers and the volume tier of the total.

use rust_decimal::Decimal;

use super::{PackageRounding, Tier, TierSlice};
use crate::core::{CoreError, MinorUnits};

/// A slice of `quantity` units starting after unit `start`.
pub(super) fn slice(
    tier: usize,
    start: u64,
    quantity: u64,
    unit_amount: Decimal,
    flat: MinorUnits,
) -> Result<TierSlice, CoreError> {
    let units = unit_amount
        .checked_mul(Decimal::from(quantity))
        .ok_or(CoreError::Overflow)?;
    let flat_applies = quantity > 0;
    let exact = if flat_applies {
        units
            .checked_add(flat.to_decimal())
            .ok_or(CoreError::Overflow)?
    } else {
        units
    };
    Ok(TierSlice {
        tier,
        from_unit: if quantity > 0 { start + 1 } else { 0 },
        to_unit: (quantity > 0).then_some(start + quantity),
        quantity,
        unit_amount,
        flat_amount: if flat_applies { flat } else { MinorUnits::ZERO },
        exact,
    })
}

/// A package price: `amount` per block of `size` units, blocks rounded up or down, in one slice.
pub(super) fn package(
    size: u64,
    amount: MinorUnits,
    rounding: PackageRounding,
    quantity: u64,
) -> Result<TierSlice, CoreError> {
    let blocks = match rounding {
        PackageRounding::Up => quantity.div_ceil(size),
        PackageRounding::Down => quantity / size,
    };
    let exact = amount
        .to_decimal()
        .checked_mul(Decimal::from(blocks))
        .ok_or(CoreError::Overflow)?;
    Ok(TierSlice {
        tier: 1,
        from_unit: u64::from(quantity > 0),
        to_unit: (quantity > 0).then_some(quantity),
        quantity,
        unit_amount: amount.to_decimal() / Decimal::from(size),
        flat_amount: MinorUnits::ZERO,
        exact,
    })
}

/// Graduated: walk the tiers; each takes the units between the previous bound and its own.
/// A tier's flat amount is charged when at least one unit falls in it.
pub(super) fn graduated(tiers: &[Tier], quantity: u64) -> Result<Vec<TierSlice>, CoreError> {
    let mut slices = Vec::new();
    let mut lower = 0_u64;
    for (i, tier) in tiers.iter().enumerate() {
        if lower >= quantity {
            break;
        }
        let upper = tier.up_to.map_or(quantity, |u| u.min(quantity));
        slices.push(slice(
            i + 1,
            lower,
            upper - lower,
            tier.unit_amount,
            tier.flat_amount,
        )?);
        lower = upper;
    }
    Ok(slices)
}

/// The tier (0-based) whose range contains unit number `quantity`.
pub fn tier_for(tiers: &[Tier], quantity: u64) -> Result<(usize, &Tier), CoreError> {
    tiers
        .iter()
        .enumerate()
        .find(|(_, t)| t.up_to.is_none_or(|u| quantity <= u))
        .ok_or_else(|| CoreError::InvalidTiers("no tier covers the quantity".into()))
}

/// Volume: the tier that contains the total prices every unit (flat amount once).
pub(super) fn volume(tiers: &[Tier], quantity: u64) -> Result<Vec<TierSlice>, CoreError> {
    if quantity == 0 {
        return Ok(Vec::new());
    }
    let (i, tier) = tier_for(tiers, quantity)?;
    Ok(vec![slice(
        i + 1,
        0,
        quantity,
        tier.unit_amount,
        tier.flat_amount,
    )?])
}
