//! Subscriptions created for a customer: a catalog plan's synced prices (or the caller's), a
//! trial, a coupon or promotion code, and how the first payment is collected. With
//! `default_incomplete` the subscription waits for the customer's first payment, and the answer
//! carries the secret Stripe.js confirms it with (the first invoice's `confirmation_secret`, or
//! the pending setup intent's when nothing is due yet, as in a trial).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use stripe_billing::subscription::DiscountsDataParam;
use stripe_billing::subscription::{
    CreateSubscription, CreateSubscriptionItems, CreateSubscriptionPaymentBehavior,
    CreateSubscriptionTrialEnd,
};
use stripe_types::Expandable;

use super::checkout::{CUSTOMER_KEY, LineItem, PLAN_KEY, PlanInterval};
use super::views::SubscriptionView;
use super::{Error, Payments, key, metadata};
use crate::values::{CustomerId, IdempotencyKey, Name, StringMap, StripeId, Text};

/// How Stripe treats a first payment that needs the customer (Stripe's `payment_behavior`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentBehavior {
    /// The subscription starts `incomplete` and waits for the customer to pay the first
    /// invoice with the returned `client_secret` (Stripe.js); it expires after 23 hours unpaid.
    #[default]
    DefaultIncomplete,
    /// Charge the payment method on file; a payment needing action leaves it `incomplete`.
    AllowIncomplete,
    /// Charge the payment method on file; a failed payment creates nothing (a card error).
    ErrorIfIncomplete,
}

#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubscription {
    /// The ledger customer (linked to Stripe: create_customer links it) or a Stripe customer id
    /// (`cus_…`).
    pub customer: CustomerId,
    /// The catalog plan to subscribe to (its synced base and usage prices); omit to give `items`.
    pub plan: Option<Name>,
    /// With plan: monthly (default) or yearly (annual).
    pub interval: Option<PlanInterval>,
    /// 1 to 20 prices with quantities, instead of a plan.
    #[serde(default)]
    pub items: Vec<LineItem>,
    /// Days of free trial (0 for none); default: the plan's trial, once per customer.
    pub trial_days: Option<u32>,
    /// When the trial ends (RFC 3339, in the future), instead of trial_days.
    pub trial_end: Option<Text>,
    /// A coupon id to apply.
    pub coupon: Option<StripeId>,
    /// A promotion code to apply: the code customers type (e.g. `LAUNCH50`) or its `promo_…` id.
    pub promotion_code: Option<Text>,
    /// default_incomplete (default), allow_incomplete or error_if_incomplete.
    #[serde(default)]
    pub payment_behavior: PaymentBehavior,
    /// The payment method (`pm_…`) the subscription charges; default: the customer's default
    /// (`invoice_settings.default_payment_method`), which a card saved by a setup intent is not.
    pub default_payment_method: Option<StripeId>,
    #[serde(default)]
    pub metadata: StringMap,
    pub idempotency_key: Option<IdempotencyKey>,
}

/// What the service resolved for Stripe: never the caller's to set.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SubscriptionTerms {
    pub stripe_customer: String,
    /// The ledger customer and plan, kept in the subscription's metadata.
    pub ledger_customer: Option<String>,
    pub plan: Option<String>,
    pub trial_days: Option<u32>,
    /// Epoch seconds.
    pub trial_end: Option<i64>,
    /// The `promo_…` id of the promotion code.
    pub promotion_code: Option<String>,
}

/// A created subscription and how its first payment is completed.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct CreatedSubscription {
    #[serde(flatten)]
    pub subscription: SubscriptionView,
    /// For Stripe.js: confirm the first payment (`client_secret_type` `payment`) or collect a
    /// payment method for later (`setup`, e.g. during a trial). None when nothing waits.
    pub client_secret: Option<String>,
    /// payment or setup.
    pub client_secret_type: Option<String>,
    /// Days of trial the subscription was created with (from trial_days or the plan's).
    pub trial_days: Option<u32>,
    /// The promotion code applied, as customers type it.
    pub promotion_code: Option<String>,
    /// What else to know (a shorter trial, what the ledger does next).
    pub note: Option<String>,
}

impl Payments {
    pub async fn create_subscription(
        &self,
        s: &NewSubscription,
        items: &[LineItem],
        terms: &SubscriptionTerms,
    ) -> Result<CreatedSubscription, Error> {
        if items.is_empty() || items.len() > 20 {
            return Err(Error::invalid("give 1 to 20 items"));
        }
        if items.iter().any(|i| i.quantity == 0) {
            return Err(Error::invalid("an item's quantity must be 1 or more"));
        }
        let items: Vec<CreateSubscriptionItems> = items
            .iter()
            .map(|i| {
                let mut item = CreateSubscriptionItems::new();
                item.price = Some(i.price.0.clone());
                // A usage price is billed from its meter: Stripe refuses a quantity on it.
                item.quantity = (!i.metered).then_some(i.quantity);
                item
            })
            .collect();
        let mut meta = metadata(&s.metadata);
        if let Some(c) = &terms.ledger_customer {
            meta.insert(CUSTOMER_KEY.into(), c.clone());
        }
        if let Some(p) = &terms.plan {
            meta.insert(PLAN_KEY.into(), p.clone());
        }
        let behavior = match s.payment_behavior {
            PaymentBehavior::DefaultIncomplete => {
                CreateSubscriptionPaymentBehavior::DefaultIncomplete
            }
            PaymentBehavior::AllowIncomplete => CreateSubscriptionPaymentBehavior::AllowIncomplete,
            PaymentBehavior::ErrorIfIncomplete => {
                CreateSubscriptionPaymentBehavior::ErrorIfIncomplete
            }
        };
        let mut req = CreateSubscription::new()
            .customer(terms.stripe_customer.clone())
            .items(items)
            .metadata(meta)
            .payment_behavior(behavior)
            .expand(vec![
                "latest_invoice.confirmation_secret".to_string(),
                "pending_setup_intent".to_string(),
            ]);
        if let Some(pm) = &s.default_payment_method {
            req = req.default_payment_method(pm.0.clone());
        }
        match (terms.trial_end, terms.trial_days) {
            (Some(end), _) => req = req.trial_end(CreateSubscriptionTrialEnd::Timestamp(end)),
            (None, Some(days)) if days > 0 => req = req.trial_period_days(days),
            _ => {}
        }
        if let Some((coupon, promotion_code)) =
            one_discount(s.coupon.as_ref(), terms.promotion_code.as_deref())?
        {
            let mut d = DiscountsDataParam::new();
            d.coupon = coupon;
            d.promotion_code = promotion_code;
            req = req.discounts(vec![d]);
        }
        let sub = self
            .write(req, &key("create_subscription", &s.idempotency_key))
            .await?;
        let (client_secret, kind) = first_payment(&sub);
        Ok(CreatedSubscription {
            subscription: SubscriptionView::from(&sub),
            client_secret,
            client_secret_type: kind,
            trial_days: terms.trial_days.filter(|d| *d > 0),
            promotion_code: None,
            note: None,
        })
    }
}

/// The secret that completes the first payment: the first invoice's, else the pending setup
/// intent's.
fn first_payment(sub: &stripe_shared::Subscription) -> (Option<String>, Option<String>) {
    if let Some(Expandable::Object(invoice)) = &sub.latest_invoice
        && let Some(secret) = &invoice.confirmation_secret
        && invoice.amount_due > 0
    {
        return (Some(secret.client_secret.clone()), Some("payment".into()));
    }
    if let Some(Expandable::Object(intent)) = &sub.pending_setup_intent
        && let Some(secret) = &intent.client_secret
    {
        return (Some(secret.clone()), Some("setup".into()));
    }
    (None, None)
}

/// A discount as Stripe's request takes it: (coupon id, `promo_…` id), one of them set.
pub(crate) type Discount = (Option<String>, Option<String>);

/// The one discount a request applies: a coupon id or a resolved `promo_…` id, never both.
pub(crate) fn one_discount(
    coupon: Option<&StripeId>,
    promotion_code: Option<&str>,
) -> Result<Option<Discount>, Error> {
    match (coupon, promotion_code) {
        (Some(_), Some(_)) => Err(Error::invalid(
            "give coupon or promotion_code, not both: a promotion code carries its coupon",
        )),
        (None, None) => Ok(None),
        (c, p) => Ok(Some((c.map(|c| c.0.clone()), p.map(String::from)))),
    }
}
