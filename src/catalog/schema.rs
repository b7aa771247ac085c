//! The file format of `billing.toml`, exactly as written by people: every table refuses unknown
//! fields, amounts are integers in minor units, sub-minor rates are decimal strings.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogFile {
    pub currency: Option<String>,
    pub default_plan: Option<String>,
    #[serde(default)]
    pub meters: BTreeMap<String, MeterSpec>,
    #[serde(default)]
    pub features: BTreeMap<String, FeatureSpec>,
    #[serde(default)]
    pub plans: BTreeMap<String, PlanSpec>,
    pub credits: Option<CreditsSpec>,
    pub gateway: Option<super::gateway::GatewaySpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeterSpec {
    pub event_name: String,
    pub aggregation: Option<String>,
    #[serde(default)]
    pub dimensions: Vec<String>,
    /// With `aggregation = "unique"`: the dimension whose distinct values are counted.
    pub unique: Option<String>,
    /// The dimension whose values `dimension_prices` price (default `tool`).
    pub price_dimension: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureSpec {
    pub meter: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanSpec {
    pub name: Option<String>,
    pub description: Option<String>,
    pub currency: Option<String>,
    pub monthly: Option<i64>,
    pub yearly: Option<i64>,
    pub trial_days: Option<u32>,
    #[serde(default)]
    pub features: Vec<String>,
    #[serde(default)]
    pub meters: BTreeMap<String, PlanMeterSpec>,
    pub at_limit: Option<String>,
    pub upgrade_to: Option<String>,
    #[serde(default)]
    pub pay_with_credits: bool,
    pub on_payment_overdue: Option<String>,
    pub rate_limit: Option<RateLimitSpec>,
    pub upgrade_url: Option<String>,
}

/// `rate_limit = { per_minute = 600, burst = 100 }`: the rate of the plan's customers' keys.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSpec {
    pub per_minute: u32,
    pub burst: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanMeterSpec {
    pub included: Option<u64>,
    pub limits: Option<LimitsSpec>,
    pub price: Option<PriceSpec>,
    /// Prices by the value of the meter's priced dimension; `tool_prices` is the same table for
    /// meters priced by `tool` (the default).
    #[serde(default, alias = "tool_prices")]
    pub dimension_prices: BTreeMap<String, PriceSpec>,
    /// `month` (default) or `period`: what span `included` and the `month` limit cover.
    pub per: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSpec {
    pub hour: Option<u64>,
    pub day: Option<u64>,
    pub month: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceSpec {
    pub unit_amount: Option<i64>,
    pub unit_amount_decimal: Option<String>,
    pub tiers_mode: Option<String>,
    pub tiers: Option<Vec<TierSpec>>,
    pub package: Option<PackageSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierSpec {
    pub up_to: Option<u64>,
    pub unit_amount: Option<i64>,
    pub unit_amount_decimal: Option<String>,
    pub flat_amount: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageSpec {
    pub size: u64,
    pub amount: i64,
    pub round: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditsSpec {
    pub default_cost: Option<u64>,
    #[serde(default)]
    pub tool_costs: BTreeMap<String, u64>,
    #[serde(default)]
    pub packs: BTreeMap<String, PackSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackSpec {
    pub name: Option<String>,
    pub credits: u64,
    #[serde(default)]
    pub bonus: u64,
    pub price: i64,
}
