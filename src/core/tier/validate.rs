//! The shape of a price Stripe would accept, checked before anything is priced with it.

use rust_decimal::Decimal;

use super::{PriceModel, Tier};
use crate::core::CoreError;

impl PriceModel {
    /// Check the shape Stripe would accept: tiers strictly increasing, only the last unbounded,
    /// no negative amounts, package size above zero.
    pub fn validate(&self) -> Result<(), CoreError> {
        match self {
            PriceModel::PerUnit { unit_amount } => non_negative(*unit_amount, "unit_amount"),
            PriceModel::Package { size, amount, .. } => {
                if *size == 0 {
                    return Err(CoreError::InvalidPrice(
                        "package size must be at least 1".into(),
                    ));
                }
                non_negative(amount.to_decimal(), "package amount")
            }
            PriceModel::Tiered { tiers, .. } => validate_tiers(tiers),
        }
    }
}

fn non_negative(value: Decimal, what: &str) -> Result<(), CoreError> {
    if value.is_sign_negative() && !value.is_zero() {
        return Err(CoreError::InvalidPrice(format!(
            "{what} must not be negative (got {value})"
        )));
    }
    Ok(())
}

fn validate_tiers(tiers: &[Tier]) -> Result<(), CoreError> {
    let Some(last) = tiers.last() else {
        return Err(CoreError::InvalidTiers(
            "a tiered price needs at least one tier".into(),
        ));
    };
    if last.up_to.is_some() {
        return Err(CoreError::InvalidTiers(
            "the last tier must be unbounded (no up_to)".into(),
        ));
    }
    let mut previous: Option<u64> = None;
    for (i, tier) in tiers.iter().enumerate() {
        non_negative(tier.unit_amount, &format!("tier {} unit_amount", i + 1))?;
        non_negative(
            tier.flat_amount.to_decimal(),
            &format!("tier {} flat_amount", i + 1),
        )?;
        if i + 1 < tiers.len() {
            let Some(up_to) = tier.up_to else {
                return Err(CoreError::InvalidTiers(format!(
                    "tier {} has no up_to but is not the last tier",
                    i + 1
                )));
            };
            if up_to == 0 || previous.is_some_and(|p| up_to <= p) {
                return Err(CoreError::InvalidTiers(format!(
                    "tiers must be in increasing order of up_to: tier {} has up_to {up_to} after {}",
                    i + 1,
                    previous.unwrap_or(0)
                )));
            }
            previous = Some(up_to);
        }
    }
    Ok(())
}
