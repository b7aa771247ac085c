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

mod base;
mod usage;

use std::collections::BTreeMap;

use serde::Serialize;

pub use super::stretch::{PlanAt, Stretch, stretches, time_share};

use super::CoreError;
use super::money::MinorUnits;
use super::period::{Span, rfc3339};
use super::reserved::ReservedMeter;
use super::tier::TierSlice;
use super::usage::{Aggregation, Tally};
use base::{base_lines, interval_word, line};
use usage::{credit_lines, meter_lines, reserved_lines};

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

impl Terms<'_> {
    /// How `meter` aggregates (a sum unless the catalog says otherwise).
    fn aggregation(&self, meter: &str) -> Aggregation {
        self.aggregations
            .get(meter)
            .copied()
            .unwrap_or(Aggregation::Sum)
    }
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
            let aggregation = terms.aggregation(meter);
            lines.extend(meter_lines(stretch, usage, meter, plan_meter, aggregation)?);
        }
    }
    lines.extend(reserved_lines(terms, stretches)?);
    lines.extend(credit_lines(terms, stretches));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::period::Interval;
    use crate::core::plan::{Plan, PlanMeter};
    use crate::core::tier::PriceModel;
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
