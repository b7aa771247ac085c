//! A price's declaration checked: per unit (an integer or an exact decimal rate), tiered
//! (graduated or volume) or package, in the shape Stripe accepts.

use std::str::FromStr;

use rust_decimal::Decimal;

use super::error::{CatalogError, Context};
use super::schema::PriceSpec;
use super::validate::{MAX_PRICE_AMOUNT, MAX_RATE_SCALE, amount};
use crate::core::tier::{PackageRounding, PriceModel, Tier, TiersMode};

fn rate(
    cx: &Context<'_>,
    field: &str,
    int: Option<i64>,
    dec: Option<&str>,
) -> Result<Decimal, CatalogError> {
    match (int, dec) {
        (Some(_), Some(_)) => Err(cx.err(
            field,
            "both unit_amount and unit_amount_decimal are set",
            "keep only one of them",
        )),
        (Some(v), None) => Ok(amount(cx, &format!("{field}.unit_amount"), v)?.to_decimal()),
        (None, Some(s)) => {
            let v = Decimal::from_str(s).map_err(|_| {
                cx.err(
                    format!("{field}.unit_amount_decimal"),
                    format!("`{s}` is not a decimal number"),
                    "write it as a string of digits, e.g. \"0.25\" (minor units)",
                )
            })?;
            if v.is_sign_negative() && !v.is_zero() {
                return Err(cx.err(
                    format!("{field}.unit_amount_decimal"),
                    format!("a price cannot be negative (got {s})"),
                    "use 0 or more",
                ));
            }
            if v > Decimal::from(MAX_PRICE_AMOUNT) || v.normalize().scale() > MAX_RATE_SCALE {
                return Err(cx.err(
                    format!("{field}.unit_amount_decimal"),
                    format!("`{s}` is beyond what Stripe accepts"),
                    "use at most 99999999 minor units with at most 12 decimal places",
                ));
            }
            Ok(v)
        }
        (None, None) => Err(cx.err(
            field,
            "no unit price",
            "set unit_amount (integer minor units) or unit_amount_decimal (string)",
        )),
    }
}

pub(super) fn build(
    cx: &Context<'_>,
    field: &str,
    spec: &PriceSpec,
) -> Result<PriceModel, CatalogError> {
    let model = if let Some(pkg) = &spec.package {
        let rounding = match pkg.round.as_deref().unwrap_or("up") {
            "up" => PackageRounding::Up,
            "down" => PackageRounding::Down,
            other => {
                return Err(cx.err(
                    format!("{field}.package.round"),
                    format!("unknown rounding `{other}`"),
                    "use up or down",
                ));
            }
        };
        PriceModel::Package {
            size: pkg.size,
            amount: amount(cx, &format!("{field}.package.amount"), pkg.amount)?,
            rounding,
        }
    } else if let Some(tiers) = &spec.tiers {
        let mode = match spec.tiers_mode.as_deref() {
            Some("graduated") => TiersMode::Graduated,
            Some("volume") => TiersMode::Volume,
            other => {
                return Err(cx.err(
                    format!("{field}.tiers_mode"),
                    format!(
                        "tiers_mode is {}",
                        other.map_or("missing".to_string(), |o| format!("`{o}`"))
                    ),
                    "set tiers_mode = \"graduated\" or \"volume\"",
                ));
            }
        };
        let mut out = Vec::new();
        for (i, t) in tiers.iter().enumerate() {
            let tfield = format!("{field}.tiers[{i}]");
            out.push(Tier {
                up_to: t.up_to,
                unit_amount: rate(
                    cx,
                    &tfield,
                    t.unit_amount
                        .or(t.unit_amount_decimal.is_none().then_some(0)),
                    t.unit_amount_decimal.as_deref(),
                )?,
                flat_amount: amount(
                    cx,
                    &format!("{tfield}.flat_amount"),
                    t.flat_amount.unwrap_or(0),
                )?,
            });
        }
        PriceModel::Tiered { mode, tiers: out }
    } else {
        PriceModel::PerUnit {
            unit_amount: rate(
                cx,
                field,
                spec.unit_amount,
                spec.unit_amount_decimal.as_deref(),
            )?,
        }
    };
    model.validate().map_err(|e| cx.err(format!("{field}.tiers"), e.to_string(),
        "list tiers in increasing up_to order with the last tier unbounded (no up_to), all amounts 0 or more"))?;
    Ok(model)
}
