//! The upcoming invoice of one billing period, computed from the plans the customer had during
//! it and the usage recorded under each. How a line is computed, as a person checks it:
//!
//! - **Base fee**: the plan in force at the period start, for the whole period; a trial makes the
//!   part before `trial_end` free (`price × (end − trial_end) / (end − start)`).
//! - **Plan change at t** (Stripe's `proration_behavior=create_prorations`): a credit for the
//!   unused time on the old price, `−price_old × (end − t) / (end − start)`, and a charge for the
//!   remaining time on the new one, `+price_new × (end − t) / (end − start)`, each rounded once.
//! - **Usage**: each plan prices the usage recorded while it was in force, from zero and with
//!   its own included units (the old plan's lines stay on the invoice). The meter's aggregation
//!   turns the events into one quantity; included units apply per month (`per = "month"`, the
//!   default, one line per month on a yearly plan) or per period; dimension values with their
//!   own price are priced apart, in full; reserved capacity replaces the plan's price. Usage in a
//!   trial is shown and not charged.
//! - **Credits**: usage paid with prepaid credits is shown with the credits it burned, at 0.
//!
//! Every line is rounded once (half away from zero); the total is the sum of the lines.

use std::collections::BTreeMap;

use serde::Serialize;

pub use super::stretch::{PlanAt, Stretch, stretches, time_share};

use super::CoreError;
use super::money::MinorUnits;
use super::period::{Interval, Span, rfc3339};
use super::plan::{Per, Plan, PlanMeter};
use super::reserved::{ReservedMeter, overage_charge};
use super::tier::{PriceModel, TierSlice};
use super::usage::{Aggregation, Tally, merged};

/// A meter's usage by the value of its priced dimension ("" = none).
pub type MeterUsage = BTreeMap<String, Tally>;
/// Usage by meter.
pub type Usage = BTreeMap<String, MeterUsage>;

/// The usage recorded in one stretch: over the whole stretch, and per allowance month inside
/// it (the months are only needed for yearly plans with `per = "month"` meters).
#[derive(Debug, Clone, Default)]
pub struct StretchUsage {
    pub whole: Usage,
    pub months: Vec<(Span, Usage)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    Base,
    Proration,
    Usage,
    Credits,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvoiceLine {
    pub kind: LineKind,
    pub description: String,
    pub plan: String,
    /// The time the line covers.
    pub span: Span,
    pub meter: Option<String>,
    /// The priced dimension's value, for a line priced by its own price.
    pub dimension_value: Option<String>,
    /// The meter's quantity by its aggregation (usage lines); 1 for base lines.
    pub quantity: u64,
    pub included: u64,
    pub billable: u64,
    pub tiers: Vec<TierSlice>,
    /// Credits burned (credit lines).
    pub credits: u64,
    pub amount: MinorUnits,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvoicePreview {
    pub period: Span,
    pub lines: Vec<InvoiceLine>,
    pub total: MinorUnits,
}

/// What the preview needs besides the stretches and their usage.
#[derive(Debug, Clone, Copy)]
pub struct Terms<'a> {
    pub period: Span,
    pub trial_end: Option<i64>,
    pub aggregations: &'a BTreeMap<String, Aggregation>,
    pub reserved: &'a BTreeMap<String, ReservedMeter>,
    /// Credits burned in the period per meter.
    pub credits_burned: &'a BTreeMap<String, u64>,
}

/// The upcoming invoice.
pub fn preview(
    terms: &Terms<'_>,
    stretches: &[(Stretch<'_>, StretchUsage)],
) -> Result<InvoicePreview, CoreError> {
    let mut lines = base_lines(terms, stretches)?;
    for (stretch, usage) in stretches {
        if stretch.plan.pay_with_credits {
            continue;
        }
        // Reserved capacity is priced once for the period, below.
        let priced_here = stretch
            .plan
            .meters
            .iter()
            .filter(|(m, _)| !terms.reserved.contains_key(*m));
        for (meter, plan_meter) in priced_here {
            let aggregation = terms
                .aggregations
                .get(meter)
                .copied()
                .unwrap_or(Aggregation::Sum);
            lines.extend(meter_lines(stretch, usage, meter, plan_meter, aggregation)?);
        }
    }
    lines.extend(reserved_lines(terms, stretches)?);
    for (meter, credits) in terms.credits_burned.iter().filter(|(_, c)| **c > 0) {
        let quantity = stretches
            .iter()
            .filter(|(s, _)| s.plan.pay_with_credits)
            .filter_map(|(_, u)| u.whole.get(meter))
            .map(|m| {
                merged(m.values()).value(
                    terms
                        .aggregations
                        .get(meter)
                        .copied()
                        .unwrap_or(Aggregation::Sum),
                )
            })
            .sum();
        lines.push(InvoiceLine {
            kind: LineKind::Credits,
            description: format!("{meter} · paid with {credits} prepaid credits"),
            plan: stretches
                .last()
                .map(|(s, _)| s.plan.id.clone())
                .unwrap_or_default(),
            span: terms.period,
            meter: Some(meter.clone()),
            dimension_value: None,
            quantity,
            included: 0,
            billable: 0,
            tiers: Vec::new(),
            credits: *credits,
            amount: MinorUnits::ZERO,
        });
    }
    let total = lines
        .iter()
        .try_fold(MinorUnits::ZERO, |acc, l| acc.checked_add(l.amount))?;
    Ok(InvoicePreview {
        period: terms.period,
        lines,
        total,
    })
}

/// The lines a period closed early at `closed_at` still owes (Stripe invoices them at the
/// change): its stretches' usage and prorations up to then, and a credit for the unused time of
/// the plan in force at the change. Its base fee was invoiced when it began.
pub fn closing(
    terms: &Terms<'_>,
    stretches: &[(Stretch<'_>, StretchUsage)],
    closed_at: i64,
) -> Result<Vec<InvoiceLine>, CoreError> {
    let owed = preview(terms, stretches)?;
    let mut lines: Vec<InvoiceLine> = owed
        .lines
        .into_iter()
        .filter(|l| l.kind != LineKind::Base)
        .collect();
    if let Some((last, _)) = stretches.last() {
        let unused = time_share(
            last.plan.base_price(last.interval),
            terms.period,
            closed_at,
            terms.trial_end,
        )?;
        if unused > MinorUnits::ZERO {
            lines.push(line(
                LineKind::Proration,
                format!(
                    "Unused time on {} ({}) from {}",
                    last.plan.name,
                    interval_word(last.interval),
                    rfc3339(closed_at)
                ),
                last.plan,
                Span {
                    start: closed_at,
                    end: terms.period.end,
                },
                MinorUnits::ZERO.checked_sub(unused)?,
            ));
        }
    }
    for l in &mut lines {
        l.description = format!("Closed period · {}", l.description);
    }
    Ok(lines)
}

fn interval_word(interval: Interval) -> &'static str {
    match interval {
        Interval::Month => "monthly",
        Interval::Year => "yearly",
    }
}

fn line(
    kind: LineKind,
    description: String,
    plan: &Plan,
    span: Span,
    amount: MinorUnits,
) -> InvoiceLine {
    InvoiceLine {
        kind,
        description,
        plan: plan.id.clone(),
        span,
        meter: None,
        dimension_value: None,
        quantity: 1,
        included: 0,
        billable: 1,
        tiers: Vec::new(),
        credits: 0,
        amount,
    }
}

fn base_lines(
    terms: &Terms<'_>,
    stretches: &[(Stretch<'_>, StretchUsage)],
) -> Result<Vec<InvoiceLine>, CoreError> {
    let mut lines = Vec::new();
    let period = terms.period;
    let Some((first, _)) = stretches.first() else {
        return Ok(lines);
    };
    let price = first.plan.base_price(first.interval);
    if price > MinorUnits::ZERO {
        let trial = terms.trial_end.is_some_and(|t| t > period.start);
        let note = if trial { ", after the trial" } else { "" };
        let amount = time_share(price, period, period.start, terms.trial_end)?;
        lines.push(line(
            LineKind::Base,
            format!(
                "{} ({}){note}",
                first.plan.name,
                interval_word(first.interval)
            ),
            first.plan,
            period,
            amount,
        ));
    }
    for pair in stretches.windows(2) {
        let ((old, _), (new, _)) = (&pair[0], &pair[1]);
        if !new.changed {
            continue;
        }
        let at = new.span.start;
        let remaining = Span {
            start: at,
            end: period.end,
        };
        // A credit for the unused time on the old price, a charge for the rest on the new one.
        for (words, stretch, sign) in [("Unused time on", old, -1), ("Remaining time on", new, 1)] {
            let share = time_share(
                stretch.plan.base_price(stretch.interval),
                period,
                at,
                terms.trial_end,
            )?;
            if share > MinorUnits::ZERO {
                lines.push(line(
                    LineKind::Proration,
                    format!(
                        "{words} {} ({}) from {}",
                        stretch.plan.name,
                        interval_word(stretch.interval),
                        rfc3339(at)
                    ),
                    stretch.plan,
                    remaining,
                    share.checked_mul(sign)?,
                ));
            }
        }
    }
    Ok(lines)
}

/// Reserved capacity, once for the period whatever plan was in force (the customer's Stripe
/// subscription items bill the whole period): the usage outside a trial, priced by the tiers.
fn reserved_lines(
    terms: &Terms<'_>,
    stretches: &[(Stretch<'_>, StretchUsage)],
) -> Result<Vec<InvoiceLine>, CoreError> {
    let Some((last, _)) = stretches.last() else {
        return Ok(Vec::new());
    };
    let mut lines = Vec::new();
    for (meter, reserved) in terms.reserved {
        let aggregation = terms
            .aggregations
            .get(meter)
            .copied()
            .unwrap_or(Aggregation::Sum);
        let billed = stretches.iter().filter(|(s, _)| !s.trial);
        let tallies: Vec<&Tally> = billed
            .filter_map(|(_, u)| u.whole.get(meter))
            .flat_map(|m| m.values())
            .collect();
        let quantity = merged(tallies).value(aggregation);
        let charge = overage_charge(reserved, quantity, last.plan.currency)?;
        lines.push(InvoiceLine {
            kind: LineKind::Usage,
            description: format!(
                "{meter} · {} reserved, {} overage",
                reserved.reserved, charge.overage
            ),
            plan: last.plan.id.clone(),
            span: terms.period,
            meter: Some(meter.clone()),
            dimension_value: None,
            quantity,
            included: reserved.reserved,
            billable: charge.overage,
            tiers: Vec::new(),
            credits: 0,
            amount: charge.total,
        });
    }
    Ok(lines)
}

fn meter_lines(
    stretch: &Stretch<'_>,
    usage: &StretchUsage,
    meter: &str,
    plan_meter: &PlanMeter,
    aggregation: Aggregation,
) -> Result<Vec<InvoiceLine>, CoreError> {
    let trial = if stretch.trial {
        " (trial, not charged)"
    } else {
        ""
    };
    let usage_line = |description: String,
                      span: Span,
                      quantity: u64,
                      included: u64,
                      price: Option<&PriceModel>,
                      value: Option<String>|
     -> Result<InvoiceLine, CoreError> {
        let billable = quantity.saturating_sub(included);
        let priced = price.map(|p| p.price(billable)).transpose()?;
        Ok(InvoiceLine {
            kind: LineKind::Usage,
            description,
            plan: stretch.plan.id.clone(),
            span,
            meter: Some(meter.to_string()),
            dimension_value: value,
            quantity,
            included,
            billable: if priced.is_some() { billable } else { 0 },
            amount: match (&priced, stretch.trial) {
                (Some(p), false) => p.total,
                _ => MinorUnits::ZERO,
            },
            tiers: priced.map(|p| p.slices).unwrap_or_default(),
            credits: 0,
        })
    };
    let empty = MeterUsage::new();
    let whole = usage.whole.get(meter).unwrap_or(&empty);
    let mut lines = Vec::new();
    for (value, tally) in whole {
        if let Some(price) = plan_meter.dimension_prices.get(value) {
            lines.push(usage_line(
                format!("{meter} · {value}{trial}"),
                stretch.span,
                tally.value(aggregation),
                0,
                Some(price),
                Some(value.clone()),
            )?);
        }
    }
    let generic = |u: &MeterUsage| {
        merged(
            u.iter()
                .filter(|(v, _)| !plan_meter.dimension_prices.contains_key(*v))
                .map(|(_, t)| t),
        )
        .value(aggregation)
    };
    let has_generic = plan_meter.price.is_some()
        || plan_meter.included > 0
        || whole
            .keys()
            .any(|v| !plan_meter.dimension_prices.contains_key(v));
    if !has_generic {
        return Ok(lines);
    }
    let price = plan_meter.price.as_ref();
    if plan_meter.per == Per::Month && stretch.interval == Interval::Year {
        for (span, month) in &usage.months {
            let quantity = generic(month.get(meter).unwrap_or(&empty));
            let label = format!("{meter} · month from {}{trial}", rfc3339(span.start));
            lines.push(usage_line(
                label,
                *span,
                quantity,
                plan_meter.included,
                price,
                None,
            )?);
        }
    } else {
        lines.push(usage_line(
            format!("{meter}{trial}"),
            stretch.span,
            generic(whole),
            plan_meter.included,
            price,
            None,
        )?);
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn starter() -> Plan {
        let meter = PlanMeter {
            included: 1000,
            price: Some(PriceModel::PerUnit {
                unit_amount: rust_decimal::Decimal::from(5),
            }),
            ..PlanMeter::default()
        };
        let mut plan = crate::core::plan::test_plan("starter", 2900);
        plan.meters.insert("tool_calls".to_string(), meter);
        plan
    }

    proptest! {
        #[test]
        fn the_lines_add_up_to_the_total(calls in 0_u64..5_000, change in 0_i64..30, trial in proptest::option::of(0_i64..30)) {
            let (a, mut b) = (starter(), starter());
            b.id = "pro".into();
            b.monthly = Some(MinorUnits(9900));
            let day = 86_400_000;
            let period = Span { start: 0, end: 30 * day };
            let plans = [
                PlanAt { at: 0, plan: &a, interval: Interval::Month },
                PlanAt { at: change * day, plan: &b, interval: Interval::Month },
            ];
            let trial_end = trial.map(|t| t * day);
            let usage = StretchUsage {
                whole: BTreeMap::from([("tool_calls".to_string(), BTreeMap::from([(String::new(), Tally::event(0, calls))]))]),
                months: Vec::new(),
            };
            let priced: Vec<_> = stretches(period, &plans, trial_end).into_iter().map(|s| (s, usage.clone())).collect();
            let aggregations = BTreeMap::new();
            let reserved = BTreeMap::new();
            let burned = BTreeMap::new();
            let terms = Terms { period, trial_end, aggregations: &aggregations, reserved: &reserved, credits_burned: &burned };
            let p = preview(&terms, &priced).unwrap();
            let sum = p.lines.iter().map(|l| l.amount.0).sum::<i64>();
            prop_assert_eq!(p.total.0, sum);
            prop_assert!(p.total.0 >= 0);
        }
    }
}
