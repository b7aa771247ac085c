//! `list_plans`: the catalog's plans as people read them, with every price spelled out (tiers,
//! packages, included units, per-dimension prices, credit packs).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use super::{App, Money};
use crate::core::plan::{Plan, Rate};
use crate::core::tier::{PackageRounding, PriceModel, TiersMode};

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
