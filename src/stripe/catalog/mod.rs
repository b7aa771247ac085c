//! Products, coupons and billing meters at Stripe; prices are in [`prices`].

mod prices;

pub use prices::*;

use rust_decimal::prelude::ToPrimitive;
use schemars::JsonSchema;
use serde::Deserialize;
use stripe_billing::billing_meter::{
    CreateBillingMeter, CreateBillingMeterCustomerMapping, CreateBillingMeterDefaultAggregation,
    CreateBillingMeterValueSettings, ListBillingMeter,
};
use stripe_product::coupon::{CreateCoupon, ListCoupon};
use stripe_product::product::{CreateProduct, ListProduct};

use super::views::{CouponView, MeterView, Page, ProductView};
use super::{Error, Payments, key, metadata, page_limit, parse, wire as name};
use crate::values::{
    CurrencyCode, DecimalString, IdempotencyKey, Name, StringMap, StripeId, Text, default_limit,
};

#[derive(Debug, Deserialize, serde::Serialize, JsonSchema)]
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

#[derive(Debug, Deserialize, serde::Serialize, JsonSchema)]
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
pub enum Duration {
    Once,
    Repeating,
    Forever,
}

#[derive(Debug, Deserialize, serde::Serialize, JsonSchema)]
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

#[derive(Debug, Deserialize, serde::Serialize, JsonSchema)]
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

#[derive(Debug, Deserialize, serde::Serialize, JsonSchema)]
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

#[derive(Debug, Deserialize, serde::Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MeterQuery {
    pub status: Option<MeterStatus>,
    /// Meters per page (1–100, default 20).
    #[serde(default = "default_limit")]
    pub limit: u32,
    pub starting_after: Option<StripeId>,
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
        metrics::counter!("billing_stripe_products_created_total").increment(1);
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
