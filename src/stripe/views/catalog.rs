//! Products, prices (with their tiers and recurrence), coupons and billing meters.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use super::{id, money, opt_id, sorted, time};
use crate::values::Money;

#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct ProductView {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub active: bool,
    pub default_price: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub created: String,
}

impl From<&stripe_shared::Product> for ProductView {
    fn from(p: &stripe_shared::Product) -> Self {
        ProductView {
            id: p.id.to_string(),
            name: p.name.clone(),
            description: p.description.clone(),
            active: p.active,
            default_price: opt_id(p.default_price.as_ref()),
            metadata: sorted(&p.metadata),
            created: time(p.created),
        }
    }
}

#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct RecurringView {
    /// day, week, month or year.
    pub interval: String,
    pub interval_count: u64,
    /// licensed or metered.
    pub usage_type: String,
    /// The billing meter a metered price reads.
    pub meter: Option<String>,
}

#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct TierView {
    /// Inclusive upper bound; null for the last tier.
    pub up_to: Option<i64>,
    pub unit_amount: Option<i64>,
    /// Per-unit price in minor units with up to 12 decimals, exactly as Stripe holds it.
    pub unit_amount_decimal: Option<String>,
    pub flat_amount: Option<i64>,
}

#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct PriceView {
    pub id: String,
    pub product: String,
    pub currency: String,
    /// one_time or recurring.
    #[serde(rename = "type")]
    pub kind: String,
    /// per_unit or tiered.
    pub billing_scheme: String,
    pub unit_amount: Option<i64>,
    pub unit_amount_decimal: Option<String>,
    /// graduated or volume, for tiered prices.
    pub tiers_mode: Option<String>,
    /// Present when Stripe returned them (tiered prices this server created).
    pub tiers: Option<Vec<TierView>>,
    pub recurring: Option<RecurringView>,
    pub lookup_key: Option<String>,
    pub nickname: Option<String>,
    pub active: bool,
    pub metadata: BTreeMap<String, String>,
}

impl From<&stripe_shared::Price> for PriceView {
    fn from(p: &stripe_shared::Price) -> Self {
        PriceView {
            id: p.id.to_string(),
            product: id(&p.product),
            currency: p.currency.to_string(),
            kind: p.type_.as_str().into(),
            billing_scheme: p.billing_scheme.as_str().into(),
            unit_amount: p.unit_amount,
            unit_amount_decimal: p.unit_amount_decimal.clone(),
            tiers_mode: p.tiers_mode.as_ref().map(|m| m.as_str().into()),
            tiers: p.tiers.as_ref().map(|tiers| {
                tiers
                    .iter()
                    .map(|t| TierView {
                        up_to: t.up_to,
                        unit_amount: t.unit_amount,
                        unit_amount_decimal: t.unit_amount_decimal.clone(),
                        flat_amount: t.flat_amount,
                    })
                    .collect()
            }),
            recurring: p.recurring.as_ref().map(|r| RecurringView {
                interval: r.interval.as_str().into(),
                interval_count: r.interval_count,
                usage_type: r.usage_type.as_str().into(),
                meter: r.meter.clone(),
            }),
            lookup_key: p.lookup_key.clone(),
            nickname: p.nickname.clone(),
            active: p.active,
            metadata: sorted(&p.metadata),
        }
    }
}

#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct CouponView {
    pub id: String,
    pub name: Option<String>,
    /// Percentage off as a decimal string, e.g. "25.5".
    pub percent_off: Option<String>,
    pub amount_off: Option<Money>,
    /// once, repeating or forever.
    pub duration: String,
    pub duration_in_months: Option<i64>,
    pub max_redemptions: Option<i64>,
    pub times_redeemed: i64,
    pub redeem_by: Option<String>,
    pub valid: bool,
}

impl From<&stripe_shared::Coupon> for CouponView {
    fn from(c: &stripe_shared::Coupon) -> Self {
        CouponView {
            id: c.id.to_string(),
            name: c.name.clone(),
            // Stripe sends a JSON number; its shortest decimal form is the percentage sent.
            percent_off: c.percent_off.map(|p| p.to_string()),
            amount_off: c
                .amount_off
                .zip(c.currency.as_ref())
                .map(|(a, cur)| money(a, cur)),
            duration: c.duration.as_str().into(),
            duration_in_months: c.duration_in_months,
            max_redemptions: c.max_redemptions,
            times_redeemed: c.times_redeemed,
            redeem_by: c.redeem_by.map(time),
            valid: c.valid,
        }
    }
}

#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct MeterView {
    pub id: String,
    pub display_name: String,
    /// The `event_name` meter events carry.
    pub event_name: String,
    /// sum, count or last.
    pub aggregation: String,
    /// The payload key holding the Stripe customer id.
    pub customer_key: String,
    /// The payload key holding the quantity.
    pub value_key: String,
    /// active or inactive.
    pub status: String,
    pub created: String,
}

impl From<&stripe_billing::BillingMeter> for MeterView {
    fn from(m: &stripe_billing::BillingMeter) -> Self {
        MeterView {
            id: m.id.to_string(),
            display_name: m.display_name.clone(),
            event_name: m.event_name.clone(),
            aggregation: m.default_aggregation.formula.as_str().into(),
            customer_key: m.customer_mapping.event_payload_key.clone(),
            value_key: m.value_settings.event_payload_key.clone(),
            status: m.status.as_str().into(),
            created: time(m.created),
        }
    }
}
