//! Prices: the catalog's plans as people read them, and quotes for the next units (the upcoming
//! invoice is `invoice.rs`).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use super::{App, BillingError, Money};
use crate::core::entitlement::UsageSoFar;
use crate::core::plan::{Plan, PlanMeter, Rate};
use crate::core::quote;
use crate::core::reserved::{ReservedMeter, overage_charge};
use crate::core::tier::{PackageRounding, PriceModel, TiersMode};
use crate::core::usage::Aggregation;

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct TierView {
    /// Last unit of the tier (inclusive); absent for the last, unbounded tier.
    pub up_to: Option<u64>,
    /// Price per unit in minor units, exact (may have decimals, e.g. "0.5").
    pub unit_amount: String,
    pub flat_amount: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PriceView {
    /// per_unit, graduated, volume or package.
    pub scheme: String,
    pub unit_amount: Option<String>,
    pub tiers: Vec<TierView>,
    pub package_size: Option<u64>,
    pub package_amount: Option<i64>,
    pub package_rounding: Option<String>,
}

impl From<&PriceModel> for PriceView {
    fn from(p: &PriceModel) -> PriceView {
        let mut v = PriceView {
            scheme: String::new(),
            unit_amount: None,
            tiers: Vec::new(),
            package_size: None,
            package_amount: None,
            package_rounding: None,
        };
        match p {
            PriceModel::PerUnit { unit_amount } => {
                v.scheme = "per_unit".into();
                v.unit_amount = Some(unit_amount.normalize().to_string());
            }
            PriceModel::Tiered { mode, tiers } => {
                v.scheme = match mode {
                    TiersMode::Graduated => "graduated",
                    TiersMode::Volume => "volume",
                }
                .into();
                v.tiers = tiers
                    .iter()
                    .map(|t| TierView {
                        up_to: t.up_to,
                        unit_amount: t.unit_amount.normalize().to_string(),
                        flat_amount: t.flat_amount.0,
                    })
                    .collect();
            }
            PriceModel::Package {
                size,
                amount,
                rounding,
            } => {
                v.scheme = "package".into();
                v.package_size = Some(*size);
                v.package_amount = Some(amount.0);
                v.package_rounding = Some(
                    match rounding {
                        PackageRounding::Up => "up",
                        PackageRounding::Down => "down",
                    }
                    .into(),
                );
            }
        }
        v
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PlanMeterView {
    pub meter: String,
    pub included: u64,
    /// Limits per window: hour, day, month.
    pub limits: BTreeMap<String, u64>,
    pub price: Option<PriceView>,
    /// The dimension whose values `dimension_prices` price.
    pub price_dimension: String,
    pub dimension_prices: BTreeMap<String, PriceView>,
    /// month or period: what `included` and the month limit cover.
    pub per: String,
    /// How the meter aggregates: sum, count, max, last or unique.
    pub aggregation: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PlanView {
    pub plan: String,
    pub name: String,
    pub description: Option<String>,
    pub monthly: Option<Money>,
    pub yearly: Option<Money>,
    pub trial_days: u32,
    pub features: Vec<String>,
    pub meters: Vec<PlanMeterView>,
    /// block, upgrade_prompt or charge_overage.
    pub at_limit: String,
    pub upgrade_to: Option<String>,
    pub pay_with_credits: bool,
    /// The rate limit of this plan's customers' API keys (keys with their own rate keep it).
    pub rate_limit: Option<Rate>,
    pub is_default: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CreditPackView {
    pub pack: String,
    pub name: String,
    pub credits: u64,
    pub bonus: u64,
    pub price: Money,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PlanList {
    pub plans: Vec<PlanView>,
    pub credit_packs: Vec<CreditPackView>,
    /// Credits one call costs by tool (others: default_credit_cost).
    pub tool_credit_costs: BTreeMap<String, u64>,
    pub default_credit_cost: u64,
}

pub fn plan_view(app: &App, plan: &Plan) -> PlanView {
    PlanView {
        plan: plan.id.clone(),
        name: plan.name.clone(),
        description: plan.description.clone(),
        monthly: plan.monthly.map(|m| Money::new(m, plan.currency)),
        yearly: plan.yearly.map(|m| Money::new(m, plan.currency)),
        trial_days: plan.trial_days,
        features: plan.features.iter().cloned().collect(),
        meters: plan
            .meters
            .iter()
            .map(|(meter, m)| PlanMeterView {
                meter: meter.clone(),
                included: m.included,
                limits: m
                    .limits
                    .iter()
                    .map(|(w, l)| (w.as_str().to_string(), *l))
                    .collect(),
                price: m.price.as_ref().map(PriceView::from),
                price_dimension: app
                    .catalog
                    .meters
                    .get(meter)
                    .map_or_else(|| "tool".into(), |x| x.price_dimension.clone()),
                dimension_prices: m
                    .dimension_prices
                    .iter()
                    .map(|(t, p)| (t.clone(), PriceView::from(p)))
                    .collect(),
                per: match m.per {
                    crate::core::plan::Per::Month => "month",
                    crate::core::plan::Per::Period => "period",
                }
                .into(),
                aggregation: app
                    .catalog
                    .meters
                    .get(meter)
                    .map_or("sum", |x| x.aggregation.as_str())
                    .into(),
            })
            .collect(),
        at_limit: serde_json::to_value(plan.at_limit)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default(),
        upgrade_to: plan.upgrade_to.clone(),
        pay_with_credits: plan.pay_with_credits,
        rate_limit: plan.rate_limit,
        is_default: app.catalog.default_plan.as_deref() == Some(plan.id.as_str()),
    }
}

pub fn list_plans(app: &App) -> PlanList {
    let c = &app.catalog;
    PlanList {
        plans: c.plans.values().map(|p| plan_view(app, p)).collect(),
        credit_packs: c
            .credits
            .packs
            .values()
            .map(|p| CreditPackView {
                pack: p.id.clone(),
                name: p.name.clone(),
                credits: p.credits,
                bonus: p.bonus,
                price: Money::new(p.price, c.currency),
            })
            .collect(),
        tool_credit_costs: c.credits.tool_costs.clone(),
        default_credit_cost: c.credits.default_cost,
    }
}

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
    if input.quantity > super::usage::MAX_QUANTITY {
        return Err(BillingError::invalid(format!(
            "quantity is above the maximum of {}",
            super::usage::MAX_QUANTITY
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
        .is_some_and(|r| super::customers::in_trial(r, now));
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
