//! Invoices (create, add items, finalize, list) and subscriptions (list, update, cancel).
//! Customers arrive here already resolved to their Stripe id.

use schemars::JsonSchema;
use serde::Deserialize;
use stripe_billing::invoice::{CreateInvoice, FinalizeInvoiceInvoice, ListInvoice};
use stripe_billing::invoice_item::{CreateInvoiceItem, PricingParam};
use stripe_billing::subscription::{
    CancelSubscription, DiscountsDataParam, ListSubscription, UpdateSubscription,
    UpdateSubscriptionItems,
};

use super::subscriptions::one_discount;
use super::views::{InvoiceItemView, InvoiceView, Page, SubscriptionView};
use super::{Error, Payments, key, metadata, page_limit, parse, wire as snake};
use crate::values::{
    CurrencyCode, CustomerId, IdempotencyKey, StringMap, StripeId, Text, default_limit,
};

#[derive(Debug, Deserialize, serde::Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInvoice {
    /// The ledger customer (linked to Stripe) or a Stripe customer id (`cus_…`).
    pub customer: CustomerId,
    /// Email the invoice and let the customer pay within this many days; without it Stripe
    /// charges the customer's default payment method.
    pub days_until_due: Option<u32>,
    /// Shown on the invoice.
    pub description: Option<Text>,
    /// Let Stripe finalize and collect automatically (default: Stripe's own default).
    pub auto_advance: Option<bool>,
    #[serde(default)]
    pub metadata: StringMap,
    pub idempotency_key: Option<IdempotencyKey>,
}

#[derive(Debug, Deserialize, serde::Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInvoiceItem {
    /// The ledger customer (linked to Stripe) or a Stripe customer id (`cus_…`).
    pub customer: CustomerId,
    /// The draft invoice (`in_…`); omit to put the item on the customer's next invoice.
    pub invoice: Option<StripeId>,
    /// A price (`price_…`) with quantity, or else amount with currency.
    pub price: Option<StripeId>,
    /// Units of the price (default 1).
    pub quantity: Option<u64>,
    /// A one-off amount in minor units (may be negative for a credit).
    pub amount: Option<i64>,
    pub currency: Option<CurrencyCode>,
    pub description: Option<Text>,
    #[serde(default)]
    pub metadata: StringMap,
    pub idempotency_key: Option<IdempotencyKey>,
}

#[derive(Debug, Deserialize, serde::Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FinalizeInvoice {
    /// The draft invoice (`in_…`).
    pub invoice: StripeId,
    /// Let Stripe collect automatically after finalizing.
    pub auto_advance: Option<bool>,
    pub idempotency_key: Option<IdempotencyKey>,
}

#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    Draft,
    Open,
    Paid,
    Uncollectible,
    Void,
}

#[derive(Debug, Deserialize, serde::Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceQuery {
    /// The ledger customer (linked to Stripe) or a Stripe customer id (`cus_…`).
    pub customer: Option<CustomerId>,
    pub status: Option<InvoiceStatus>,
    /// Only invoices of this subscription (`sub_…`).
    pub subscription: Option<StripeId>,
    /// Invoices per page (1–100, default 20).
    #[serde(default = "default_limit")]
    pub limit: u32,
    pub starting_after: Option<StripeId>,
}

#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    Active,
    PastDue,
    Unpaid,
    Canceled,
    Incomplete,
    IncompleteExpired,
    Trialing,
    Paused,
    Ended,
    All,
}

#[derive(Debug, Deserialize, serde::Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionQuery {
    /// The ledger customer (linked to Stripe) or a Stripe customer id (`cus_…`).
    pub customer: Option<CustomerId>,
    /// Only subscriptions with this price.
    pub price: Option<StripeId>,
    /// Default: every status but canceled; `all` includes canceled.
    pub status: Option<SubscriptionStatus>,
    /// Subscriptions per page (1–100, default 20).
    #[serde(default = "default_limit")]
    pub limit: u32,
    pub starting_after: Option<StripeId>,
}

#[derive(Debug, Deserialize, serde::Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemChange {
    /// The subscription item (`si_…`) to change or delete; omit to add an item.
    pub id: Option<StripeId>,
    /// The new price for the item.
    pub price: Option<StripeId>,
    pub quantity: Option<u64>,
    /// Remove the item.
    #[serde(default)]
    pub deleted: bool,
}

#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Proration {
    CreateProrations,
    None,
    AlwaysInvoice,
}

#[derive(Debug, Deserialize, serde::Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionChange {
    /// The subscription (`sub_…`).
    pub subscription: StripeId,
    /// Items to add, change or delete.
    #[serde(default)]
    pub items: Vec<ItemChange>,
    /// How to bill the change: create_prorations (Stripe's default), none or always_invoice.
    pub proration_behavior: Option<Proration>,
    /// Cancel at the end of the period (true) or undo that (false).
    pub cancel_at_period_end: Option<bool>,
    /// A coupon id to apply from now on (replaces the subscription's discounts).
    pub coupon: Option<StripeId>,
    /// A promotion code to apply from now on: the code customers type or its `promo_…` id.
    pub promotion_code: Option<Text>,
    #[serde(default)]
    pub metadata: StringMap,
    pub idempotency_key: Option<IdempotencyKey>,
    /// The promotion code's `promo_…` id, as the service resolved it.
    #[serde(skip)]
    #[schemars(skip)]
    pub promotion_code_id: Option<String>,
}

#[derive(Debug, Deserialize, serde::Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionCancel {
    /// The subscription (`sub_…`).
    pub subscription: StripeId,
    /// Invoice pending usage and prorations now (default false).
    pub invoice_now: Option<bool>,
    /// Credit the unused time (default false).
    pub prorate: Option<bool>,
    /// Required as true when the client cannot ask the user to confirm.
    #[serde(default)]
    pub confirm: bool,
    pub idempotency_key: Option<IdempotencyKey>,
}

impl Payments {
    pub async fn create_invoice(
        &self,
        i: NewInvoice,
        stripe_customer: String,
    ) -> Result<InvoiceView, Error> {
        let mut req = CreateInvoice::new()
            .customer(stripe_customer)
            .metadata(metadata(&i.metadata));
        if let Some(days) = i.days_until_due {
            req = req
                .collection_method(parse::<stripe_shared::InvoiceCollectionMethod>(
                    "send_invoice",
                ))
                .days_until_due(days);
        }
        if let Some(d) = i.description {
            req = req.description(d.0);
        }
        if let Some(a) = i.auto_advance {
            req = req.auto_advance(a);
        }
        let invoice = self
            .write(req, &key("create_invoice", &i.idempotency_key))
            .await?;
        Ok(InvoiceView::from(&invoice))
    }

    pub async fn create_invoice_item(
        &self,
        i: NewInvoiceItem,
        stripe_customer: String,
    ) -> Result<InvoiceItemView, Error> {
        let mut req = CreateInvoiceItem::new()
            .customer(stripe_customer)
            .metadata(metadata(&i.metadata));
        match (&i.price, i.amount, &i.currency) {
            (Some(price), None, None) => {
                let mut pricing = PricingParam::new();
                pricing.price = Some(price.0.clone());
                req = req.pricing(pricing).quantity(i.quantity.unwrap_or(1));
            }
            (None, Some(amount), Some(currency)) if i.quantity.is_none() => {
                req = req
                    .amount(amount)
                    .currency(parse::<stripe_types::Currency>(&currency.0));
            }
            _ => {
                return Err(Error::invalid(
                    "give either price (with an optional quantity) or amount with currency",
                ));
            }
        }
        if let Some(inv) = i.invoice {
            req = req.invoice(inv.0);
        }
        if let Some(d) = i.description {
            req = req.description(d.0);
        }
        let item = self
            .write(req, &key("create_invoice_item", &i.idempotency_key))
            .await?;
        Ok(InvoiceItemView::from(&item))
    }

    pub async fn finalize_invoice(&self, f: FinalizeInvoice) -> Result<InvoiceView, Error> {
        let mut req = FinalizeInvoiceInvoice::new(f.invoice.0.as_str());
        if let Some(a) = f.auto_advance {
            req = req.auto_advance(a);
        }
        let invoice = self
            .write(req, &key("finalize_invoice", &f.idempotency_key))
            .await?;
        Ok(InvoiceView::from(&invoice))
    }

    pub async fn list_invoices(
        &self,
        q: InvoiceQuery,
        stripe_customer: Option<String>,
    ) -> Result<Page<InvoiceView>, Error> {
        let mut req = ListInvoice::new().limit(page_limit(q.limit)?);
        if let Some(c) = stripe_customer {
            req = req.customer(c);
        }
        if let Some(s) = q.status {
            req = req.status(parse::<stripe_shared::InvoiceStatus>(&snake(s)));
        }
        if let Some(s) = q.subscription {
            req = req.subscription(s.0);
        }
        if let Some(after) = q.starting_after {
            req = req.starting_after(after.0);
        }
        let list = self.read(req).await?;
        Ok(Page::of(list, |i| {
            i.id.as_ref().map(|x| x.to_string()).unwrap_or_default()
        }))
    }

    pub async fn list_subscriptions(
        &self,
        q: SubscriptionQuery,
        stripe_customer: Option<String>,
    ) -> Result<Page<SubscriptionView>, Error> {
        let mut req = ListSubscription::new().limit(page_limit(q.limit)?);
        if let Some(c) = stripe_customer {
            req = req.customer(c);
        }
        if let Some(p) = q.price {
            req = req.price(p.0);
        }
        if let Some(s) = q.status {
            req = req
                .status(parse::<stripe_billing::subscription::ListSubscriptionStatus>(&snake(s)));
        }
        if let Some(after) = q.starting_after {
            req = req.starting_after(after.0);
        }
        let list = self.read(req).await?;
        Ok(Page::of(list, |s| s.id.to_string()))
    }

    pub async fn update_subscription(
        &self,
        c: SubscriptionChange,
    ) -> Result<SubscriptionView, Error> {
        if c.items.is_empty()
            && c.proration_behavior.is_none()
            && c.cancel_at_period_end.is_none()
            && c.metadata.is_empty()
            && c.coupon.is_none()
            && c.promotion_code_id.is_none()
        {
            return Err(Error::invalid(
                "nothing to change: give items, cancel_at_period_end, coupon, promotion_code or metadata",
            ));
        }
        let mut req = UpdateSubscription::new(c.subscription.0.as_str());
        if !c.items.is_empty() {
            let mut items = Vec::with_capacity(c.items.len());
            for (n, change) in c.items.iter().enumerate() {
                if change.id.is_none() && change.price.is_none() {
                    return Err(Error::invalid(format!(
                        "item {}: give id (to change or delete an item) or price (to add one)",
                        n + 1
                    )));
                }
                let mut item = UpdateSubscriptionItems::new();
                item.id = change.id.as_ref().map(|i| i.0.clone());
                item.price = change.price.as_ref().map(|p| p.0.clone());
                item.quantity = change.quantity;
                item.deleted = change.deleted.then_some(true);
                items.push(item);
            }
            req = req.items(items);
        }
        if let Some(p) = c.proration_behavior {
            req = req.proration_behavior(parse::<
                stripe_billing::subscription::UpdateSubscriptionProrationBehavior,
            >(&snake(p)));
        }
        if let Some(at_end) = c.cancel_at_period_end {
            req = req.cancel_at_period_end(at_end);
        }
        if let Some((coupon, promotion_code)) =
            one_discount(c.coupon.as_ref(), c.promotion_code_id.as_deref())?
        {
            let mut d = DiscountsDataParam::new();
            d.coupon = coupon;
            d.promotion_code = promotion_code;
            req = req.discounts(vec![d]);
        }
        if !c.metadata.is_empty() {
            req = req.metadata(metadata(&c.metadata));
        }
        let sub = self
            .write(req, &key("update_subscription", &c.idempotency_key))
            .await?;
        Ok(SubscriptionView::from(&sub))
    }

    pub async fn cancel_subscription(
        &self,
        c: SubscriptionCancel,
    ) -> Result<SubscriptionView, Error> {
        let mut req = CancelSubscription::new(c.subscription.0.as_str());
        if let Some(now) = c.invoice_now {
            req = req.invoice_now(now);
        }
        if let Some(p) = c.prorate {
            req = req.prorate(p);
        }
        let sub = self
            .write(req, &key("cancel_subscription", &c.idempotency_key))
            .await?;
        Ok(SubscriptionView::from(&sub))
    }
}
