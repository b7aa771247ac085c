//! Prices: one-time or recurring, flat, tiered (graduated or volume) or per package, with
//! exact decimal unit amounts and lookup keys.

use schemars::JsonSchema;
use serde::Deserialize;
use stripe_product::price::{
    CreatePrice, CreatePriceRecurring, CreatePriceTiers, CreatePriceTiersUpTo, ListPrice,
};

use crate::stripe::views::{Page, PriceView};
use crate::stripe::{Error, Payments, decimal, key, metadata, page_limit, parse, wire as name};
use crate::values::{
    CurrencyCode, DecimalString, IdempotencyKey, Name, StringMap, StripeId, Text, default_limit,
};

#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Interval {
    Day,
    Week,
    Month,
    Year,
}

#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UsageType {
    /// Billed for the quantity on the subscription.
    Licensed,
    /// Billed for usage reported to a billing meter.
    Metered,
}

#[derive(Debug, Deserialize, serde::Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecurringInput {
    /// month or year for most plans.
    pub interval: Interval,
    /// Bill every N intervals (default 1).
    pub interval_count: Option<u32>,
    /// licensed (default) or metered.
    pub usage_type: Option<UsageType>,
    /// The billing meter id (`mtr_…`) a metered price reads.
    pub meter: Option<StripeId>,
}

#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TiersMode {
    /// Each unit is priced by the tier it falls in.
    Graduated,
    /// All units are priced by the tier the total falls in.
    Volume,
}

#[derive(Debug, Deserialize, serde::Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TierInput {
    /// Inclusive upper bound in units; omit on the last tier (it is unbounded).
    pub up_to: Option<u64>,
    /// Per-unit price in minor units.
    pub unit_amount: Option<i64>,
    /// Per-unit price in minor units with up to 12 decimals, as a string (e.g. "0.05").
    pub unit_amount_decimal: Option<DecimalString>,
    /// A flat fee for the tier, in minor units.
    pub flat_amount: Option<i64>,
}

#[derive(Debug, Deserialize, serde::Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPrice {
    /// The product id (`prod_…`).
    pub product: StripeId,
    pub currency: CurrencyCode,
    /// Price per unit in minor units (2900 = 29.00 usd). One of unit_amount,
    /// unit_amount_decimal or tiers.
    pub unit_amount: Option<i64>,
    /// Price per unit in minor units with up to 12 decimals, as a string ("0.5" = half a cent).
    pub unit_amount_decimal: Option<DecimalString>,
    /// Makes the price recurring (subscriptions); omit for a one-time price.
    pub recurring: Option<RecurringInput>,
    /// graduated or volume; required with tiers.
    pub tiers_mode: Option<TiersMode>,
    /// Tiers in ascending order; the last one without up_to.
    #[serde(default)]
    pub tiers: Vec<TierInput>,
    /// A stable name to find the price by (list_prices lookup_keys), e.g. `pro_monthly`.
    pub lookup_key: Option<Name>,
    /// Move this lookup_key from the price holding it to this one.
    #[serde(default)]
    pub transfer_lookup_key: bool,
    pub nickname: Option<Text>,
    #[serde(default)]
    pub metadata: StringMap,
    pub idempotency_key: Option<IdempotencyKey>,
}

#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PriceType {
    OneTime,
    Recurring,
}

#[derive(Debug, Deserialize, serde::Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceQuery {
    /// Only prices of this product.
    pub product: Option<StripeId>,
    pub active: Option<bool>,
    /// one_time or recurring.
    #[serde(rename = "type")]
    pub kind: Option<PriceType>,
    /// Only prices with these lookup keys (up to 10).
    #[serde(default)]
    pub lookup_keys: Vec<Name>,
    /// Prices per page (1–100, default 20).
    #[serde(default = "default_limit")]
    pub limit: u32,
    pub starting_after: Option<StripeId>,
}

/// One tier of a tiered price (`up_to` none: the unbounded last tier).
pub(crate) fn tier(
    up_to: Option<u64>,
    unit_amount: Option<i64>,
    unit_amount_decimal: Option<rust_decimal::Decimal>,
    flat_amount: Option<i64>,
) -> CreatePriceTiers {
    let mut tier = CreatePriceTiers::new(match up_to {
        Some(u) => CreatePriceTiersUpTo::I64(i64::try_from(u).unwrap_or(i64::MAX)),
        None => CreatePriceTiersUpTo::Inf,
    });
    tier.unit_amount = unit_amount;
    tier.unit_amount_decimal = unit_amount_decimal.map(decimal);
    tier.flat_amount = flat_amount;
    tier
}

/// `req` as a tiered price in `mode` (graduated or volume); Stripe answers with its tiers.
pub(crate) fn tiered(req: CreatePrice, mode: &str, tiers: Vec<CreatePriceTiers>) -> CreatePrice {
    req.billing_scheme(parse::<stripe_shared::PriceBillingScheme>("tiered"))
        .tiers_mode(parse::<stripe_shared::PriceTiersMode>(mode))
        .tiers(tiers)
        .expand(vec!["tiers".to_string()])
}

fn check_price(p: &NewPrice) -> Result<(), Error> {
    let given = [
        p.unit_amount.is_some(),
        p.unit_amount_decimal.is_some(),
        !p.tiers.is_empty(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(Error::invalid(
            "give exactly one of unit_amount, unit_amount_decimal or tiers",
        ));
    }
    if p.tiers.is_empty() != p.tiers_mode.is_none() {
        return Err(Error::invalid(
            "tiers and tiers_mode go together: tiers_mode graduated or volume, with the tiers",
        ));
    }
    if p.unit_amount.is_some_and(|a| a < 0) {
        return Err(Error::invalid("unit_amount must be 0 or more"));
    }
    let last = p.tiers.len().saturating_sub(1);
    let mut previous = 0;
    for (i, t) in p.tiers.iter().enumerate() {
        match t.up_to {
            None if i != last => {
                return Err(Error::invalid(format!(
                    "tier {} has no up_to; only the last tier is unbounded",
                    i + 1
                )));
            }
            Some(_) if i == last => {
                return Err(Error::invalid(
                    "the last tier must omit up_to (it covers every unit above the previous tier)",
                ));
            }
            Some(u) if u <= previous => {
                return Err(Error::invalid(format!(
                    "tier {} up_to {u} must be above the previous tier's {previous}",
                    i + 1
                )));
            }
            Some(u) => previous = u,
            None => {}
        }
        if t.unit_amount.is_some() && t.unit_amount_decimal.is_some() {
            return Err(Error::invalid(format!(
                "tier {}: give unit_amount or unit_amount_decimal, not both",
                i + 1
            )));
        }
        if t.unit_amount.is_some_and(|a| a < 0) || t.flat_amount.is_some_and(|a| a < 0) {
            return Err(Error::invalid(format!(
                "tier {}: amounts must be 0 or more",
                i + 1
            )));
        }
    }
    Ok(())
}

impl Payments {
    pub async fn create_price(&self, p: NewPrice) -> Result<PriceView, Error> {
        check_price(&p)?;
        let mut req = CreatePrice::new(parse::<stripe_types::Currency>(&p.currency.0))
            .product(p.product.0.clone())
            .metadata(metadata(&p.metadata));
        if let Some(a) = p.unit_amount {
            req = req.unit_amount(a);
        }
        if let Some(d) = &p.unit_amount_decimal {
            req = req.unit_amount_decimal(decimal(d.0));
        }
        if let Some(r) = &p.recurring {
            let mut recurring = CreatePriceRecurring::new(parse::<
                stripe_product::price::CreatePriceRecurringInterval,
            >(&name(r.interval)));
            recurring.interval_count = r.interval_count.map(u64::from);
            recurring.usage_type = r.usage_type.map(|u| parse(&name(u)));
            recurring.meter = r.meter.as_ref().map(|m| m.0.clone());
            req = req.recurring(recurring);
        }
        if let Some(mode) = p.tiers_mode {
            let tiers = p
                .tiers
                .iter()
                .map(|t| {
                    tier(
                        t.up_to,
                        t.unit_amount,
                        t.unit_amount_decimal.as_ref().map(|d| d.0),
                        t.flat_amount,
                    )
                })
                .collect();
            req = tiered(req, &name(mode), tiers);
        }
        if let Some(k) = &p.lookup_key {
            req = req.lookup_key(k.0.clone());
            if p.transfer_lookup_key {
                req = req.transfer_lookup_key(true);
            }
        }
        if let Some(n) = &p.nickname {
            req = req.nickname(n.0.clone());
        }
        let price = self
            .write(req, &key("create_price", &p.idempotency_key))
            .await?;
        metrics::counter!("billing_stripe_prices_created_total").increment(1);
        Ok(PriceView::from(&price))
    }

    pub async fn list_prices(&self, q: PriceQuery) -> Result<Page<PriceView>, Error> {
        if q.lookup_keys.len() > 10 {
            return Err(Error::invalid("at most 10 lookup_keys"));
        }
        let mut req = ListPrice::new().limit(page_limit(q.limit)?);
        if let Some(p) = q.product {
            req = req.product(p.0);
        }
        if let Some(a) = q.active {
            req = req.active(a);
        }
        if let Some(k) = q.kind {
            req = req.type_(parse::<stripe_shared::PriceType>(&name(k)));
        }
        if !q.lookup_keys.is_empty() {
            req = req.lookup_keys(q.lookup_keys.into_iter().map(|k| k.0).collect::<Vec<_>>());
        }
        if let Some(after) = q.starting_after {
            req = req.starting_after(after.0);
        }
        let list = self.read(req).await?;
        Ok(Page::of(list, |p| p.id.to_string()))
    }
}
