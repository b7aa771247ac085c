//! Projections of Stripe objects: the fields a person acts on (ids, amounts with their currency,
//! status, links, the customer and plan metadata), never the 5 KB raw object, never a bare id.
//! Money is integer minor units plus a readable string; times are RFC 3339.

use std::collections::{BTreeMap, HashMap};

use schemars::JsonSchema;
use serde::Serialize;
use stripe_types::{Expandable, List, Object};

use crate::core::period::rfc3339;
use crate::core::{Currency, MinorUnits};
use crate::values::{Money, PageInfo};

pub(crate) fn money(amount: i64, currency: &stripe_types::Currency) -> Money {
    let code = currency.to_string();
    match Currency::parse(&code) {
        Ok(c) => Money::new(MinorUnits(amount), c),
        Err(_) => Money {
            amount,
            display: format!("{amount} (minor units)"),
            currency: code,
        },
    }
}

fn time(seconds: i64) -> String {
    rfc3339(seconds.saturating_mul(1000))
}

fn id<T: Object>(e: &Expandable<T>) -> String
where
    T::Id: std::fmt::Display,
{
    e.id().to_string()
}

fn opt_id<T: Object>(e: Option<&Expandable<T>>) -> Option<String>
where
    T::Id: std::fmt::Display,
{
    e.map(id)
}

/// An invoice's id is optional in Stripe's schema (upcoming invoices have none).
fn invoice_id(e: Option<&Expandable<stripe_shared::Invoice>>) -> Option<String> {
    match e? {
        Expandable::Id(id) => id.as_ref().map(ToString::to_string),
        Expandable::Object(invoice) => invoice.id.as_ref().map(ToString::to_string),
    }
}

fn sorted(m: &HashMap<String, String>) -> BTreeMap<String, String> {
    m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// A page of Stripe objects: pass `next_cursor` as `starting_after` for the next page.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    #[serde(flatten)]
    pub page: PageInfo,
}

impl<T> Page<T> {
    pub(crate) fn of<S>(list: List<S>, cursor: impl Fn(&S) -> String) -> Page<T>
    where
        T: for<'a> From<&'a S>,
    {
        let next_cursor = if list.has_more {
            list.data.last().map(&cursor)
        } else {
            None
        };
        Page {
            data: list.data.iter().map(T::from).collect(),
            page: PageInfo {
                has_more: list.has_more,
                next_cursor,
            },
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CustomerView {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub created: String,
}

impl From<&stripe_shared::Customer> for CustomerView {
    fn from(c: &stripe_shared::Customer) -> Self {
        CustomerView {
            id: c.id.to_string(),
            name: c.name.clone(),
            email: c.email.clone(),
            metadata: c.metadata.as_ref().map(sorted).unwrap_or_default(),
            created: time(c.created),
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
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

#[derive(Debug, Serialize, JsonSchema)]
pub struct RecurringView {
    /// day, week, month or year.
    pub interval: String,
    pub interval_count: u64,
    /// licensed or metered.
    pub usage_type: String,
    /// The billing meter a metered price reads.
    pub meter: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TierView {
    /// Inclusive upper bound; null for the last tier.
    pub up_to: Option<i64>,
    pub unit_amount: Option<i64>,
    /// Per-unit price in minor units with up to 12 decimals, exactly as Stripe holds it.
    pub unit_amount_decimal: Option<String>,
    pub flat_amount: Option<i64>,
}

#[derive(Debug, Serialize, JsonSchema)]
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

#[derive(Debug, Serialize, JsonSchema)]
pub struct PaymentLinkView {
    pub id: String,
    /// The page to send the customer to.
    pub url: String,
    pub active: bool,
    pub currency: String,
    pub metadata: BTreeMap<String, String>,
    /// Days of free trial the subscription it starts begins with (a catalog plan's trial).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trial_days: Option<u32>,
    /// What the link leaves out, when it sells a plan with usage prices, and why a plan's trial
    /// is not given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl From<&stripe_shared::PaymentLink> for PaymentLinkView {
    fn from(l: &stripe_shared::PaymentLink) -> Self {
        PaymentLinkView {
            id: l.id.to_string(),
            url: l.url.clone(),
            active: l.active,
            currency: l.currency.to_string(),
            metadata: sorted(&l.metadata),
            trial_days: None,
            note: None,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CheckoutSessionView {
    pub id: String,
    /// The hosted checkout page.
    pub url: Option<String>,
    /// payment, subscription or setup.
    pub mode: String,
    /// open, complete or expired.
    pub status: Option<String>,
    pub payment_status: String,
    pub customer: Option<String>,
    pub amount_total: Option<Money>,
    pub expires_at: String,
    pub metadata: BTreeMap<String, String>,
    /// Days of free trial the subscription begins with (a catalog plan's trial).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trial_days: Option<u32>,
    /// Why a plan's trial is shorter or not given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl From<&stripe_shared::CheckoutSession> for CheckoutSessionView {
    fn from(s: &stripe_shared::CheckoutSession) -> Self {
        CheckoutSessionView {
            id: s.id.to_string(),
            url: s.url.clone(),
            mode: s.mode.as_str().into(),
            status: s.status.as_ref().map(|x| x.as_str().into()),
            payment_status: s.payment_status.as_str().into(),
            customer: opt_id(s.customer.as_ref()),
            amount_total: s
                .amount_total
                .zip(s.currency.as_ref())
                .map(|(a, c)| money(a, c)),
            expires_at: time(s.expires_at),
            metadata: s.metadata.as_ref().map(sorted).unwrap_or_default(),
            trial_days: None,
            note: None,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PortalSessionView {
    pub id: String,
    /// Where the customer manages payment methods, invoices and subscriptions.
    pub url: String,
    pub customer: String,
    pub return_url: Option<String>,
}

impl From<&stripe_billing::BillingPortalSession> for PortalSessionView {
    fn from(s: &stripe_billing::BillingPortalSession) -> Self {
        PortalSessionView {
            id: s.id.to_string(),
            url: s.url.clone(),
            customer: s.customer.clone(),
            return_url: s.return_url.clone(),
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct InvoiceView {
    pub id: Option<String>,
    pub number: Option<String>,
    pub customer: Option<String>,
    /// draft, open, paid, uncollectible or void.
    pub status: Option<String>,
    pub total: Money,
    pub amount_due: Money,
    pub amount_paid: Money,
    pub amount_remaining: Money,
    /// charge_automatically or send_invoice.
    pub collection_method: String,
    pub due_date: Option<String>,
    /// The page the customer pays on (after finalizing).
    pub hosted_invoice_url: Option<String>,
    pub invoice_pdf: Option<String>,
    pub lines: usize,
    pub created: String,
}

impl From<&stripe_shared::Invoice> for InvoiceView {
    fn from(i: &stripe_shared::Invoice) -> Self {
        InvoiceView {
            id: i.id.as_ref().map(|x| x.to_string()),
            number: i.number.clone(),
            customer: opt_id(i.customer.as_ref()),
            status: i.status.as_ref().map(|s| s.as_str().into()),
            total: money(i.total, &i.currency),
            amount_due: money(i.amount_due, &i.currency),
            amount_paid: money(i.amount_paid, &i.currency),
            amount_remaining: money(i.amount_remaining, &i.currency),
            collection_method: i.collection_method.as_str().into(),
            due_date: i.due_date.map(time),
            hosted_invoice_url: i.hosted_invoice_url.clone(),
            invoice_pdf: i.invoice_pdf.clone(),
            lines: i.lines.data.len(),
            created: time(i.created),
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct InvoiceItemView {
    pub id: String,
    pub customer: String,
    /// The draft invoice it is on; none means the customer's next invoice.
    pub invoice: Option<String>,
    pub amount: Money,
    pub quantity: u64,
    pub description: Option<String>,
}

impl From<&stripe_billing::InvoiceItem> for InvoiceItemView {
    fn from(i: &stripe_billing::InvoiceItem) -> Self {
        InvoiceItemView {
            id: i.id.to_string(),
            customer: id(&i.customer),
            invoice: invoice_id(i.invoice.as_ref()),
            amount: money(i.amount, &i.currency),
            quantity: i.quantity,
            description: i.description.clone(),
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct BalanceView {
    /// Funds you can pay out now, per currency.
    pub available: Vec<Money>,
    /// Funds not yet available, per currency.
    pub pending: Vec<Money>,
    pub livemode: bool,
}

impl From<&stripe_core::Balance> for BalanceView {
    fn from(b: &stripe_core::Balance) -> Self {
        let list = |l: &[stripe_core::BalanceAmount]| {
            l.iter().map(|a| money(a.amount, &a.currency)).collect()
        };
        BalanceView {
            available: list(&b.available),
            pending: list(&b.pending),
            livemode: b.livemode,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RefundView {
    pub id: String,
    pub amount: Money,
    /// pending, requires_action, succeeded, failed or canceled.
    pub status: Option<String>,
    pub payment_intent: Option<String>,
    pub charge: Option<String>,
    pub reason: Option<String>,
    pub created: String,
}

impl From<&stripe_shared::Refund> for RefundView {
    fn from(r: &stripe_shared::Refund) -> Self {
        RefundView {
            id: r.id.to_string(),
            amount: money(r.amount, &r.currency),
            status: r.status.clone(),
            payment_intent: opt_id(r.payment_intent.as_ref()),
            charge: opt_id(r.charge.as_ref()),
            reason: r.reason.as_ref().map(|x| x.as_str().into()),
            created: time(r.created),
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PaymentIntentView {
    pub id: String,
    pub amount: Money,
    pub amount_received: Money,
    /// requires_payment_method, processing, succeeded, canceled, …
    pub status: String,
    pub customer: Option<String>,
    pub description: Option<String>,
    pub latest_charge: Option<String>,
    pub created: String,
}

impl From<&stripe_shared::PaymentIntent> for PaymentIntentView {
    fn from(p: &stripe_shared::PaymentIntent) -> Self {
        PaymentIntentView {
            id: p.id.to_string(),
            amount: money(p.amount, &p.currency),
            amount_received: money(p.amount_received, &p.currency),
            status: p.status.as_str().into(),
            customer: opt_id(p.customer.as_ref()),
            description: p.description.clone(),
            latest_charge: opt_id(p.latest_charge.as_ref()),
            created: time(p.created),
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SubscriptionItemView {
    pub id: String,
    pub price: String,
    pub product: String,
    pub quantity: Option<u64>,
    pub unit_amount: Option<i64>,
    pub interval: Option<String>,
    pub current_period_start: String,
    pub current_period_end: String,
    pub metadata: BTreeMap<String, String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SubscriptionView {
    pub id: String,
    pub customer: String,
    /// active, trialing, past_due, canceled, unpaid, incomplete, paused, …
    pub status: String,
    pub currency: String,
    pub items: Vec<SubscriptionItemView>,
    pub cancel_at_period_end: bool,
    pub cancel_at: Option<String>,
    pub canceled_at: Option<String>,
    pub trial_end: Option<String>,
    pub start_date: String,
    pub latest_invoice: Option<String>,
    pub metadata: BTreeMap<String, String>,
}

impl From<&stripe_shared::Subscription> for SubscriptionView {
    fn from(s: &stripe_shared::Subscription) -> Self {
        SubscriptionView {
            id: s.id.to_string(),
            customer: id(&s.customer),
            status: s.status.as_str().into(),
            currency: s.currency.to_string(),
            items: s
                .items
                .data
                .iter()
                .map(|i| SubscriptionItemView {
                    id: i.id.to_string(),
                    price: i.price.id.to_string(),
                    product: id(&i.price.product),
                    quantity: i.quantity,
                    unit_amount: i.price.unit_amount,
                    interval: i
                        .price
                        .recurring
                        .as_ref()
                        .map(|r| r.interval.as_str().into()),
                    current_period_start: time(i.current_period_start),
                    current_period_end: time(i.current_period_end),
                    metadata: sorted(&i.metadata),
                })
                .collect(),
            cancel_at_period_end: s.cancel_at_period_end,
            cancel_at: s.cancel_at.map(time),
            canceled_at: s.canceled_at.map(time),
            trial_end: s.trial_end.map(time),
            start_date: time(s.start_date),
            latest_invoice: invoice_id(s.latest_invoice.as_ref()),
            metadata: sorted(&s.metadata),
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
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

#[derive(Debug, Serialize, JsonSchema)]
pub struct DisputeView {
    pub id: String,
    pub amount: Money,
    /// warning_needs_response, needs_response, under_review, won, lost, …
    pub status: String,
    pub reason: String,
    pub charge: String,
    pub payment_intent: Option<String>,
    /// The deadline for evidence.
    pub evidence_due_by: Option<String>,
    pub has_evidence: bool,
    pub submission_count: u64,
    pub created: String,
}

impl From<&stripe_shared::Dispute> for DisputeView {
    fn from(d: &stripe_shared::Dispute) -> Self {
        DisputeView {
            id: d.id.to_string(),
            amount: money(d.amount, &d.currency),
            status: d.status.as_str().into(),
            reason: d.reason.clone(),
            charge: id(&d.charge),
            payment_intent: opt_id(d.payment_intent.as_ref()),
            evidence_due_by: d.evidence_details.due_by.map(time),
            has_evidence: d.evidence_details.has_evidence,
            submission_count: d.evidence_details.submission_count,
            created: time(d.created),
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
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
