//! The fee lines of an invoice: the base fee of the plan in force at the period start (free in a
//! trial) and the prorations of each plan change.

use super::{InvoiceLine, LineKind, Stretch, StretchUsage, Terms, time_share};
use crate::core::CoreError;
use crate::core::money::MinorUnits;
use crate::core::period::{Interval, Span, rfc3339};
use crate::core::plan::Plan;

pub(super) fn interval_word(interval: Interval) -> &'static str {
    match interval {
        Interval::Month => "monthly",
        Interval::Year => "yearly",
    }
}

pub(super) fn line(
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

pub(super) fn base_lines(
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
