//! Products, prices (one-time, recurring, tiered graduated or volume, decimal unit amounts,
//! lookup keys), coupons and billing meters.

use rust_decimal::prelude::ToPrimitive;
use schemars::JsonSchema;
use serde::Deserialize;
use stripe_billing::billing_meter::{
    CreateBillingMeter, CreateBillingMeterCustomerMapping, CreateBillingMeterDefaultAggregation,
    CreateBillingMeterValueSettings, ListBillingMeter,
};
use stripe_product::coupon::{CreateCoupon, ListCoupon};
use stripe_product::price::{
    CreatePrice, CreatePriceRecurring, CreatePriceTiers, CreatePriceTiersUpTo, ListPrice,
};
use stripe_product::product::{CreateProduct, ListProduct};

use super::views::{CouponView, MeterView, Page, PriceView, ProductView};
use super::{Error, Payments, decimal, key, metadata, page_limit, parse, wire as name};
use crate::values::{
    CurrencyCode, DecimalString, IdempotencyKey, Name, StringMap, StripeId, Text, default_limit,
};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    pub name: Text,
    pub description: Option<Text>,
    /// String pairs kept on the Stripe product.
    #[serde(default)]
    pub metadata: StringMap,
    /// A repeat with the same key returns the first product instead of creating another.
    pub idempotency_key: Option<IdempotencyKey>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductQuery {
    /// Only active (true) or archived (false) products.
    pub active: Option<bool>,
    /// Products per page (1–100, default 20).
    #[serde(default = "default_limit")]
    pub limit: u32,
    /// `next_cursor` of the previous page.
    pub starting_after: Option<StripeId>,
}

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

#[derive(Debug, Deserialize, JsonSchema)]
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

#[derive(Debug, Deserialize, JsonSchema)]
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

#[derive(Debug, Deserialize, JsonSchema)]
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

#[derive(Debug, Deserialize, JsonSchema)]
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

#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Duration {
    Once,
    Repeating,
    Forever,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCoupon {
    /// Shown to customers on invoices and receipts.
    pub name: Option<Text>,
    /// Percentage off as a string, more than 0 and at most 100 (e.g. "25" or "12.5").
    pub percent_off: Option<DecimalString>,
    /// Amount off in minor units; needs currency.
    pub amount_off: Option<i64>,
    pub currency: Option<CurrencyCode>,
    /// once (default), repeating (needs duration_in_months) or forever.
    pub duration: Option<Duration>,
    pub duration_in_months: Option<u32>,
    /// How many times the coupon may be redeemed in all.
    pub max_redemptions: Option<u32>,
    /// Your own code for the coupon (default: Stripe picks one).
    pub id: Option<StripeId>,
    #[serde(default)]
    pub metadata: StringMap,
    pub idempotency_key: Option<IdempotencyKey>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CouponQuery {
    /// Coupons per page (1–100, default 20).
    #[serde(default = "default_limit")]
    pub limit: u32,
    pub starting_after: Option<StripeId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    Sum,
    Count,
    Last,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMeter {
    pub display_name: Text,
    /// The name meter events carry, e.g. `api_calls` (one meter per event name).
    pub event_name: Name,
    /// sum (default), count or last.
    pub aggregation: Option<Aggregation>,
    /// Payload key holding the Stripe customer id (default `stripe_customer_id`).
    pub customer_key: Option<Name>,
    /// Payload key holding the quantity (default `value`).
    pub value_key: Option<Name>,
    pub idempotency_key: Option<IdempotencyKey>,
}

#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MeterStatus {
    Active,
    Inactive,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MeterQuery {
    pub status: Option<MeterStatus>,
    /// Meters per page (1–100, default 20).
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
    pub async fn create_product(&self, p: NewProduct) -> Result<ProductView, Error> {
        let mut req = CreateProduct::new(p.name.0).metadata(metadata(&p.metadata));
        if let Some(d) = p.description {
            req = req.description(d.0);
        }
        let product = self
            .write(req, &key("create_product", &p.idempotency_key))
            .await?;
        Ok(ProductView::from(&product))
    }

    pub async fn list_products(&self, q: ProductQuery) -> Result<Page<ProductView>, Error> {
        let mut req = ListProduct::new().limit(page_limit(q.limit)?);
        if let Some(a) = q.active {
            req = req.active(a);
        }
        if let Some(after) = q.starting_after {
            req = req.starting_after(after.0);
        }
        let list = self.read(req).await?;
        Ok(Page::of(list, |p| p.id.to_string()))
    }

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

    pub async fn create_coupon(&self, c: NewCoupon) -> Result<CouponView, Error> {
        let duration = c.duration.unwrap_or(Duration::Once);
        let mut req = CreateCoupon::new()
            .duration(parse::<stripe_shared::CouponDuration>(&name(duration)))
            .metadata(metadata(&c.metadata));
        match (&c.percent_off, c.amount_off, &c.currency) {
            (Some(p), None, _) => {
                let hundred = rust_decimal::Decimal::ONE_HUNDRED;
                if p.0.is_zero() || p.0 > hundred || p.0.scale() > 2 {
                    return Err(Error::invalid(
                        "percent_off must be more than 0 and at most 100, with at most 2 decimals",
                    ));
                }
                // Stripe's parameter is a number; a decimal of at most 5 significant digits
                // converts to the f64 whose shortest form is that same decimal.
                let Some(percent) = p.0.to_f64() else {
                    return Err(Error::invalid("percent_off is not a number"));
                };
                req = req.percent_off(percent);
            }
            (None, Some(a), Some(cur)) if a > 0 => {
                req = req
                    .amount_off(a)
                    .currency(parse::<stripe_types::Currency>(&cur.0));
            }
            (None, Some(_), None) => {
                return Err(Error::invalid("amount_off needs currency (e.g. usd)"));
            }
            (None, Some(_), Some(_)) => {
                return Err(Error::invalid("amount_off must be more than 0"));
            }
            _ => {
                return Err(Error::invalid(
                    "give exactly one of percent_off or amount_off",
                ));
            }
        }
        match (duration, c.duration_in_months) {
            (Duration::Repeating, Some(m)) if m > 0 => req = req.duration_in_months(i64::from(m)),
            (Duration::Repeating, _) => {
                return Err(Error::invalid(
                    "a repeating coupon needs duration_in_months (1 or more)",
                ));
            }
            (_, Some(_)) => {
                return Err(Error::invalid(
                    "duration_in_months goes only with duration repeating",
                ));
            }
            _ => {}
        }
        if let Some(n) = c.name {
            req = req.name(n.0);
        }
        if let Some(m) = c.max_redemptions {
            req = req.max_redemptions(i64::from(m));
        }
        if let Some(id) = c.id {
            req = req.id(id.0);
        }
        let coupon = self
            .write(req, &key("create_coupon", &c.idempotency_key))
            .await?;
        Ok(CouponView::from(&coupon))
    }

    pub async fn list_coupons(&self, q: CouponQuery) -> Result<Page<CouponView>, Error> {
        let mut req = ListCoupon::new().limit(page_limit(q.limit)?);
        if let Some(after) = q.starting_after {
            req = req.starting_after(after.0);
        }
        let list = self.read(req).await?;
        Ok(Page::of(list, |c| c.id.to_string()))
    }

    pub async fn create_meter(&self, m: NewMeter) -> Result<MeterView, Error> {
        let aggregation = m.aggregation.unwrap_or(Aggregation::Sum);
        let customer_key = m
            .customer_key
            .map_or_else(|| "stripe_customer_id".to_string(), |k| k.0);
        let value_key = m.value_key.map_or_else(|| "value".to_string(), |k| k.0);
        let req = CreateBillingMeter::new(
            CreateBillingMeterDefaultAggregation::new(parse::<
                stripe_billing::billing_meter::CreateBillingMeterDefaultAggregationFormula,
            >(&name(aggregation))),
            m.display_name.0,
            m.event_name.0,
        )
        .customer_mapping(CreateBillingMeterCustomerMapping::new(
            customer_key,
            parse::<stripe_billing::billing_meter::CreateBillingMeterCustomerMappingType>("by_id"),
        ))
        .value_settings(CreateBillingMeterValueSettings::new(value_key));
        let meter = self
            .write(req, &key("create_meter", &m.idempotency_key))
            .await?;
        Ok(MeterView::from(&meter))
    }

    pub async fn list_meters(&self, q: MeterQuery) -> Result<Page<MeterView>, Error> {
        let mut req = ListBillingMeter::new().limit(page_limit(q.limit)?);
        if let Some(s) = q.status {
            req = req.status(parse::<stripe_billing::BillingMeterStatus>(&name(s)));
        }
        if let Some(after) = q.starting_after {
            req = req.starting_after(after.0);
        }
        let list = self.read(req).await?;
        Ok(Page::of(list, |m| m.id.to_string()))
    }
}
