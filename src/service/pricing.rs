//! `quote_price`: what the next units would cost a customer, or a plan, at the ledger's prices
//! and with what the customer has used so far (the upcoming invoice is `invoice.rs`).

use schemars::JsonSchema;
use serde::Serialize;

use super::plans::PriceView;
use super::{App, BillingError, Money};
use crate::core::entitlement::UsageSoFar;
use crate::core::plan::{Plan, PlanMeter};
use crate::core::quote;
use crate::core::reserved::{ReservedMeter, overage_charge};
use crate::core::tier::PriceModel;
use crate::core::usage::Aggregation;

#[derive(Debug, Clone, Default)]
pub struct QuoteInput {
    pub customer: Option<String>,
    pub plan: Option<String>,
    pub meter: String,
    pub tool: Option<String>,
    pub quantity: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct QuoteLineView {
    /// 1-based tier number.
    pub tier: usize,
    /// Units of this quote in the tier (negative when a volume price leaves a tier).
    pub quantity: i64,
    pub unit_amount: String,
    pub flat_amount: i64,
    /// Exact amount in minor units before the single rounding.
    pub amount: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct QuoteView {
    pub plan: String,
    pub meter: String,
    pub tool: Option<String>,
    pub quantity: u64,
    /// The meter's quantity already billable in the allowance span (the month, or the period
    /// with `per = "period"`; 0 without a customer).
    pub already_used: u64,
    pub included: u64,
    /// Units of this quote covered by the included units.
    pub covered_by_included: u64,
    pub billable_quantity: u64,
    pub price: Option<PriceView>,
    pub lines: Vec<QuoteLineView>,
    /// How much this meter's charge changes: the rounded total after the units minus before
    /// (negative when a volume price reaches a cheaper tier).
    pub amount: Money,
    pub explanation: String,
}

pub async fn quote_price(app: &App, input: QuoteInput) -> Result<QuoteView, BillingError> {
    app.check_meter(&input.meter)?;
    if input.quantity > super::usage_event::MAX_QUANTITY {
        return Err(BillingError::invalid(format!(
            "quantity is above the maximum of {}",
            super::usage_event::MAX_QUANTITY
        )));
    }
    let now = app.now();
    let record = match &input.customer {
        Some(c) => Some(app.customer(c).await?),
        None => None,
    };
    let plan_id = input
        .plan
        .clone()
        .or_else(|| {
            record
                .as_ref()
                .and_then(|r| app.plan_of(r))
                .map(|p| p.id.clone())
        })
        .or_else(|| app.catalog.default_plan.clone());
    let plan = plan_id
        .as_deref()
        .and_then(|p| app.catalog.plan(p))
        .ok_or_else(|| {
            BillingError::new(
                "unknown_plan",
                "name a plan from list_plans (or a customer that has one)",
            )
        })?;
    let terms = plan.meters.get(&input.meter).cloned().unwrap_or_default();
    let value = input.tool.as_deref();
    let own = value.and_then(|t| terms.dimension_prices.get(t));
    let counted = app.counted(Some(input.meter.as_str()));
    let aggregation = counted.map_or(Aggregation::Sum, |c| c.aggregation);
    let reserved = match &record {
        Some(r) => r.reserved()?.remove(&input.meter),
        None => None,
    };
    let usage = match &record {
        Some(r) => {
            let snapshot = app
                .store
                .snapshot(&r.id, counted, now)
                .await?
                .ok_or_else(|| BillingError::unknown_customer(&r.id))?;
            super::entitlements::usage_so_far(&snapshot, Some(&terms), aggregation, value)
        }
        None => UsageSoFar::default(),
    };
    let already = if own.is_some() {
        usage.allowance_own
    } else {
        usage.allowance_generic
    };
    let in_trial = record
        .as_ref()
        .is_some_and(|r| super::terms::in_trial(r, now));
    let mut view = match &reserved {
        Some(r) => quote_reserved(plan, input, r, usage.period_total)?,
        None => quote_plan(plan, &terms, input, own, already)?,
    };
    if in_trial {
        // Stripe bills no usage during a trial.
        view.amount = Money::new(crate::core::MinorUnits::ZERO, plan.currency);
        view.explanation
            .push_str(" The customer is in a trial: nothing is charged until it ends.");
    }
    Ok(view)
}

/// A quote on the plan's price for the meter (or the dimension value's own price).
fn quote_plan(
    plan: &Plan,
    terms: &PlanMeter,
    input: QuoteInput,
    own: Option<&PriceModel>,
    already: u64,
) -> Result<QuoteView, BillingError> {
    let included = if own.is_some() { 0 } else { terms.included };
    let billable_before = already.saturating_sub(included);
    let billable_after = already
        .saturating_add(input.quantity)
        .saturating_sub(included);
    let billable = billable_after - billable_before;
    let price = own.or(terms.price.as_ref());
    let (lines, amount) = match price {
        Some(p) => {
            let q = quote::quote(p, billable_before, billable)?;
            (q.lines, q.amount)
        }
        None => (Vec::new(), crate::core::MinorUnits::ZERO),
    };
    let explanation = match price {
        None => format!(
            "Plan `{}` does not charge for `{}` beyond its base price.",
            plan.id, input.meter
        ),
        Some(_) => format!(
            "{} of {} units fall within the included units; {} are billable after {} already billable in this allowance span.",
            input.quantity - billable,
            input.quantity,
            billable,
            billable_before
        ),
    };
    Ok(QuoteView {
        plan: plan.id.clone(),
        meter: input.meter,
        tool: input.tool,
        quantity: input.quantity,
        already_used: already,
        included,
        covered_by_included: input.quantity - billable,
        billable_quantity: billable,
        price: price.map(PriceView::from),
        lines: lines
            .into_iter()
            .map(|l| QuoteLineView {
                tier: l.tier,
                quantity: l.quantity,
                unit_amount: l.unit_amount,
                flat_amount: l.flat_amount,
                amount: l.amount,
            })
            .collect(),
        amount: Money::new(amount, plan.currency),
        explanation,
    })
}

/// A quote on reserved capacity: the overage tiers' charge after the units minus before.
fn quote_reserved(
    plan: &Plan,
    input: QuoteInput,
    reserved: &ReservedMeter,
    already: u64,
) -> Result<QuoteView, BillingError> {
    let before = overage_charge(reserved, already, plan.currency)?;
    let after = overage_charge(
        reserved,
        already.saturating_add(input.quantity),
        plan.currency,
    )?;
    let lines = after
        .tiers
        .iter()
        .zip(&before.tiers)
        .enumerate()
        .filter(|(_, (a, b))| a.units != b.units)
        .map(|(i, (a, b))| QuoteLineView {
            tier: i + 1,
            quantity: i64::try_from(a.units - b.units).unwrap_or(i64::MAX),
            unit_amount: a.unit_amount.normalize().to_string(),
            flat_amount: 0,
            amount: (a.exact - b.exact).normalize().to_string(),
        })
        .collect();
    let covered = input
        .quantity
        .min(reserved.reserved.saturating_sub(already));
    Ok(QuoteView {
        plan: plan.id.clone(),
        explanation: format!(
            "Reserved capacity: {} units prepaid, {} already used; overage above them is priced by the customer's overage tiers (the first tier starts after {} overage units).",
            reserved.reserved,
            already,
            reserved.tiers.first().map_or(0, |t| t.threshold)
        ),
        meter: input.meter,
        tool: input.tool,
        quantity: input.quantity,
        already_used: already,
        included: reserved.reserved,
        covered_by_included: covered,
        billable_quantity: input.quantity - covered,
        price: None,
        lines,
        amount: Money::new(after.total.checked_sub(before.total)?, plan.currency),
    })
}
