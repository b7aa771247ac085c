//! Quotes and invoice previews computed from a plan and the period's usage. Each line is priced
//! exactly and rounded once; the invoice total is the sum of its rounded lines (as on Stripe).

use std::collections::BTreeMap;

use serde::Serialize;

use super::CoreError;
use super::money::MinorUnits;
use super::period::{Interval, Span};
use super::plan::{Plan, PlanMeter};
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    Base,
    Usage,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvoiceLine {
    pub kind: LineKind,
    pub description: String,
    pub meter: Option<String>,
    pub tool: Option<String>,
    /// Units used in the period (for usage lines).
    pub quantity: u64,
    pub included: u64,
    pub billable: u64,
    pub tiers: Vec<TierSlice>,
    pub amount: MinorUnits,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvoicePreview {
    pub plan: String,
    pub currency: String,
    pub period: Span,
    pub lines: Vec<InvoiceLine>,
    pub total: MinorUnits,
}

/// Period usage of one meter: units per tool (`None` = no tool dimension).
pub type MeterUsage = BTreeMap<Option<String>, u64>;

/// The upcoming invoice for a plan given the period's usage per meter.
pub fn preview_invoice(
    plan: &Plan,
    interval: Interval,
    in_trial: bool,
    period: Span,
    usage: &BTreeMap<String, MeterUsage>,
) -> Result<InvoicePreview, CoreError> {
    let mut lines = Vec::new();
    let base = if in_trial {
        MinorUnits::ZERO
    } else {
        plan.base_price(interval)
    };
    if plan.base_price(interval) > MinorUnits::ZERO {
        lines.push(InvoiceLine {
            kind: LineKind::Base,
            description: format!(
                "{} ({}ly){}",
                plan.name,
                interval.as_str(),
                if in_trial { ", trial" } else { "" }
            ),
            meter: None,
            tool: None,
            quantity: 1,
            included: 0,
            billable: 1,
            tiers: Vec::new(),
            amount: base,
        });
    }
    if !plan.pay_with_credits {
        for (meter, terms) in &plan.meters {
            let empty = MeterUsage::new();
            let per_tool = usage.get(meter).unwrap_or(&empty);
            lines.extend(meter_lines(meter, terms, per_tool)?);
        }
    }
    let total = lines
        .iter()
        .try_fold(MinorUnits::ZERO, |acc, l| acc.checked_add(l.amount))?;
    Ok(InvoicePreview {
        plan: plan.id.clone(),
        currency: plan.currency.code().into(),
        period,
        lines,
        total,
    })
}

fn meter_lines(
    meter: &str,
    terms: &PlanMeter,
    per_tool: &MeterUsage,
) -> Result<Vec<InvoiceLine>, CoreError> {
    let mut lines = Vec::new();
    let mut generic = 0_u64;
    for (tool, qty) in per_tool {
        match tool
            .as_ref()
            .and_then(|t| terms.tool_prices.get(t).map(|p| (t, p)))
        {
            Some((tool, price)) => {
                let priced = price.price(*qty)?;
                lines.push(InvoiceLine {
                    kind: LineKind::Usage,
                    description: format!("{meter} · {tool}"),
                    meter: Some(meter.into()),
                    tool: Some(tool.clone()),
                    quantity: *qty,
                    included: 0,
                    billable: *qty,
                    tiers: priced.slices,
                    amount: priced.total,
                });
            }
            None => generic = generic.saturating_add(*qty),
        }
    }
    if terms.price.is_some() || terms.included > 0 || generic > 0 {
        let billable = generic.saturating_sub(terms.included);
        let priced = match &terms.price {
            Some(price) => Some(price.price(billable)?),
            None => None,
        };
        lines.push(InvoiceLine {
            kind: LineKind::Usage,
            description: meter.to_string(),
            meter: Some(meter.into()),
            tool: None,
            quantity: generic,
            included: terms.included,
            billable: if priced.is_some() { billable } else { 0 },
            amount: priced.as_ref().map_or(MinorUnits::ZERO, |p| p.total),
            tiers: priced.map(|p| p.slices).unwrap_or_default(),
        });
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::money::Currency;
    use crate::core::plan::{AtLimit, OverduePolicy};
    use crate::core::tier::{Tier, TiersMode};
    use rust_decimal::Decimal;
    use std::collections::BTreeSet;
    use std::str::FromStr;

    fn per_call_plan() -> Plan {
        // seed 000 per-call: default 50¢ with bulk tiers (volume), two tools priced on their own
        let tier = |up_to, unit: i64| Tier {
            up_to,
            unit_amount: Decimal::from(unit),
            flat_amount: MinorUnits(0),
        };
        Plan {
            id: "per_call".into(),
            name: "Pay per call".into(),
            description: None,
            currency: Currency::USD,
            monthly: None,
            yearly: None,
            trial_days: 0,
            features: BTreeSet::new(),
            meters: BTreeMap::from([(
                "tool_calls".to_string(),
                PlanMeter {
                    price: Some(PriceModel::Tiered {
                        mode: TiersMode::Volume,
                        tiers: vec![tier(Some(99), 50), tier(Some(999), 40), tier(None, 30)],
                    }),
                    tool_prices: BTreeMap::from([
                        (
                            "ai-image-generator".to_string(),
                            PriceModel::PerUnit {
                                unit_amount: Decimal::from(200),
                            },
                        ),
                        (
                            "simple-calculator".to_string(),
                            PriceModel::PerUnit {
                                unit_amount: Decimal::from(10),
                            },
                        ),
                    ]),
                    ..PlanMeter::default()
                },
            )]),
            at_limit: AtLimit::ChargeOverage,
            upgrade_to: None,
            pay_with_credits: false,
            on_payment_overdue: OverduePolicy::Block,
            rate_limit: None,
        }
    }

    #[test]
    fn invoice_prices_tools_on_their_own_and_the_rest_by_volume() {
        let usage = BTreeMap::from([(
            "tool_calls".to_string(),
            BTreeMap::from([
                (None, 150),
                (Some("ai-image-generator".to_string()), 3),
                (Some("search".to_string()), 50),
            ]),
        )]);
        let p = preview_invoice(
            &per_call_plan(),
            Interval::Month,
            false,
            Span { start: 0, end: 1 },
            &usage,
        )
        .unwrap();
        // 3 × 200 + 200 generic calls at the 100–999 volume tier: 200 × 40
        assert_eq!(p.total, MinorUnits(600 + 8000));
        assert_eq!(p.lines.len(), 2);
    }

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
