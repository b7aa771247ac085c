//! The usage lines of an invoice: each plan's metered usage in the stretch it was in force, the
//! reserved capacity of the whole period, and usage paid with prepaid credits.

use super::{InvoiceLine, LineKind, MeterUsage, Stretch, StretchUsage, Terms};
use crate::core::CoreError;
use crate::core::money::MinorUnits;
use crate::core::period::{Interval, Span, rfc3339};
use crate::core::plan::{Per, PlanMeter};
use crate::core::reserved::overage_charge;
use crate::core::tier::PriceModel;
use crate::core::usage::{Aggregation, Tally, merged};

pub(super) fn meter_lines(
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

/// Reserved capacity, once for the period whatever plan was in force (the customer's Stripe
/// subscription items bill the whole period): the usage outside a trial, priced by the tiers.
pub(super) fn reserved_lines(
    terms: &Terms<'_>,
    stretches: &[(Stretch<'_>, StretchUsage)],
) -> Result<Vec<InvoiceLine>, CoreError> {
    let Some((last, _)) = stretches.last() else {
        return Ok(Vec::new());
    };
    let mut lines = Vec::new();
    for (meter, reserved) in terms.reserved {
        let aggregation = terms.aggregation(meter);
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

/// Usage paid with prepaid credits, per meter: the credits it burned, at no charge.
pub(super) fn credit_lines(
    terms: &Terms<'_>,
    stretches: &[(Stretch<'_>, StretchUsage)],
) -> Vec<InvoiceLine> {
    let mut lines = Vec::new();
    for (meter, credits) in terms.credits_burned.iter().filter(|(_, c)| **c > 0) {
        let quantity = stretches
            .iter()
            .filter(|(s, _)| s.plan.pay_with_credits)
            .filter_map(|(_, u)| u.whole.get(meter))
            .map(|m| merged(m.values()).value(terms.aggregation(meter)))
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
    lines
}
