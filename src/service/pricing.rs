//! Prices: the catalog's plans as people read them, quotes for the next units, and the upcoming
//! invoice computed from the ledger.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use super::customers::interval_of;
use super::{App, BillingError, Money, PeriodView};
use crate::core::Currency;
use crate::core::plan::{Plan, Rate};
use crate::core::quote::{self, LineKind};
use crate::core::tier::{PackageRounding, PriceModel, TiersMode};
use crate::store::CustomerRecord;

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
    pub tool_prices: BTreeMap<String, PriceView>,
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
                tool_prices: m
                    .tool_prices
                    .iter()
                    .map(|(t, p)| (t.clone(), PriceView::from(p)))
                    .collect(),
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
    /// Units already used this period (0 without a customer).
    pub already_used: u64,
    pub included: u64,
    /// Units of this quote covered by the included units.
    pub covered_by_included: u64,
    pub billable_quantity: u64,
    pub price: Option<PriceView>,
    pub lines: Vec<QuoteLineView>,
    pub amount: Money,
    pub explanation: String,
}

pub async fn quote_price(app: &App, input: QuoteInput) -> Result<QuoteView, BillingError> {
    app.check_meter(&input.meter)?;
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
    let own = input.tool.as_ref().and_then(|t| terms.tool_prices.get(t));
    let (already, included) = match &record {
        Some(r) => {
            let snapshot = app
                .store
                .snapshot(&r.id, Some(&input.meter), now)
                .await?
                .ok_or_else(|| BillingError::unknown_customer(&r.id))?;
            let used: u64 = match (&input.tool, own) {
                (Some(t), Some(_)) => snapshot.period_by_tool.get(t).copied().unwrap_or(0),
                _ => snapshot
                    .period_by_tool
                    .iter()
                    .filter(|(t, _)| !terms.tool_prices.contains_key(*t))
                    .map(|(_, q)| q)
                    .sum(),
            };
            (used, if own.is_some() { 0 } else { terms.included })
        }
        None => (0, if own.is_some() { 0 } else { terms.included }),
    };
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
            "{} of {} units fall within the included units; {} are billable after {} already billable this period.",
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

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct InvoiceTierView {
    pub tier: usize,
    pub quantity: u64,
    pub unit_amount: String,
    pub flat_amount: i64,
    /// Exact amount in minor units before rounding.
    pub amount: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct InvoiceLineView {
    /// base or usage.
    pub kind: String,
    pub description: String,
    pub meter: Option<String>,
    pub tool: Option<String>,
    pub quantity: u64,
    pub included: u64,
    pub billable: u64,
    pub tiers: Vec<InvoiceTierView>,
    pub amount: Money,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct InvoicePreviewView {
    pub customer: String,
    pub plan: String,
    pub period: PeriodView,
    pub in_trial: bool,
    pub lines: Vec<InvoiceLineView>,
    pub total: Money,
    /// Credits burned this period are paid in advance and not on this invoice.
    pub credit_balance: u64,
}

pub async fn preview(
    app: &App,
    record: &CustomerRecord,
) -> Result<InvoicePreviewView, BillingError> {
    let plan = app.plan_of(record).ok_or_else(|| {
        BillingError::new(
            "no_plan",
            format!(
                "customer `{}` has no plan; set one with set_customer_plan",
                record.id
            ),
        )
    })?;
    let now = app.now();
    let interval = interval_of(record);
    let period = super::customers::period_of(record, now)?;
    let mut usage: BTreeMap<String, quote::MeterUsage> = BTreeMap::new();
    for t in app
        .store
        .usage_totals(&record.id, period.start, period.end)
        .await?
    {
        let tool = (!t.tool.is_empty()).then_some(t.tool);
        *usage.entry(t.meter).or_default().entry(tool).or_insert(0) +=
            u64::try_from(t.quantity).unwrap_or(0);
    }
    let in_trial = record.trial_ends_at.is_some_and(|t| now < t);
    let p = quote::preview_invoice(plan, interval, in_trial, period, &usage)?;
    let currency: Currency = plan.currency;
    Ok(InvoicePreviewView {
        customer: record.id.clone(),
        plan: p.plan,
        period: p.period.into(),
        in_trial,
        lines: p
            .lines
            .into_iter()
            .map(|l| InvoiceLineView {
                kind: match l.kind {
                    LineKind::Base => "base",
                    LineKind::Usage => "usage",
                }
                .into(),
                description: l.description,
                meter: l.meter,
                tool: l.tool,
                quantity: l.quantity,
                included: l.included,
                billable: l.billable,
                tiers: l
                    .tiers
                    .into_iter()
                    .map(|s| InvoiceTierView {
                        tier: s.tier,
                        quantity: s.quantity,
                        unit_amount: s.unit_amount.normalize().to_string(),
                        flat_amount: s.flat_amount.0,
                        amount: s.exact.normalize().to_string(),
                    })
                    .collect(),
                amount: Money::new(l.amount, currency),
            })
            .collect(),
        total: Money::new(p.total, currency),
        credit_balance: super::credits::balance_of(app, &record.id).await?,
    })
}
