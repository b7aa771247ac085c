//! Where customers pay: payment links, Checkout sessions and billing-portal sessions. Links and
//! sessions carry the ledger customer and plan in metadata (`billing_mcp_customer`,
//! `billing_mcp_plan`), so a completed payment can be matched back to them. One that sells a
//! catalog plan's synced prices starts the subscription with the plan's trial
//! (`subscription_data[trial_period_days]`) when the service grants one.

use std::collections::HashMap;

use schemars::JsonSchema;
use serde::Deserialize;
use stripe_billing::billing_portal_session::CreateBillingPortalSession;
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionDiscounts, CreateCheckoutSessionLineItems,
    CreateCheckoutSessionSubscriptionData,
};
use stripe_payment::payment_link::{
    AfterCompletionRedirectParams, CreatePaymentLink, CreatePaymentLinkAfterCompletion,
    CreatePaymentLinkAfterCompletionType, CreatePaymentLinkLineItems,
    CreatePaymentLinkSubscriptionData,
};

use super::subscriptions::one_discount;
use super::views::{CheckoutSessionView, PaymentLinkView, PortalSessionView};
use super::{Error, Payments, key, metadata, parse};
use crate::values::{CustomerId, IdempotencyKey, Name, StringMap, StripeId, Text, Url};

pub const CUSTOMER_KEY: &str = "billing_mcp_customer";
pub const PLAN_KEY: &str = "billing_mcp_plan";
/// On a Checkout session selling a credit pack: the pack's id in the catalog.
pub const PACK_KEY: &str = "billing_mcp_pack";

#[derive(Debug, Deserialize, serde::Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LineItem {
    /// The price id (`price_…`).
    pub price: StripeId,
    /// Units of the price (default 1).
    #[serde(default = "one")]
    pub quantity: u64,
    /// A usage price (billed from its meter, so it takes no quantity): set for a plan's synced
    /// usage prices, never by the caller.
    #[serde(skip)]
    #[schemars(skip)]
    pub metered: bool,
}

/// How often a plan is paid for, when a link or session sells a catalog plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanInterval {
    Monthly,
    /// Also accepted as `annual`.
    #[serde(alias = "annual")]
    Yearly,
}

fn one() -> u64 {
    1
}

/// Set by the service when a link or session sells a catalog plan's synced prices (never by the
/// caller): the subscription it starts carries the customer and plan metadata and this trial.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanSale {
    /// Days of free trial (at least 1), or none.
    pub trial_days: Option<u32>,
}

#[derive(Debug, Deserialize, serde::Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPaymentLink {
    /// 1 to 20 prices with quantities; omit to sell `plan` at `interval` with its synced prices.
    #[serde(default)]
    pub line_items: Vec<LineItem>,
    /// The ledger customer the link is for (kept in metadata as `billing_mcp_customer`).
    pub customer: Option<CustomerId>,
    /// The catalog plan the link sells (kept in metadata as `billing_mcp_plan`).
    pub plan: Option<Name>,
    /// With plan and no line_items: monthly or yearly (annual).
    pub interval: Option<PlanInterval>,
    /// Where the customer lands after paying (default: Stripe's confirmation page).
    pub redirect_url: Option<Url>,
    #[serde(default)]
    pub metadata: StringMap,
    pub idempotency_key: Option<IdempotencyKey>,
    #[serde(skip)]
    #[schemars(skip)]
    pub sale: Option<PlanSale>,
}

#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// One-time payment.
    Payment,
    /// Starts a subscription (recurring prices).
    Subscription,
}

#[derive(Debug, Deserialize, serde::Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCheckoutSession {
    /// payment or subscription.
    pub mode: Mode,
    /// 1 to 20 prices with quantities; omit (mode subscription) to sell `plan` at `interval`
    /// with its synced prices.
    #[serde(default)]
    pub line_items: Vec<LineItem>,
    /// The ledger customer paying (must be linked to Stripe: create_customer links it), or a
    /// Stripe customer id (`cus_…`).
    pub customer: Option<CustomerId>,
    /// The catalog plan sold (kept in metadata as `billing_mcp_plan`).
    pub plan: Option<Name>,
    /// With plan and no line_items: monthly or yearly (annual).
    pub interval: Option<PlanInterval>,
    /// Where Stripe sends the customer after paying.
    pub success_url: Url,
    /// Where Stripe sends the customer who goes back.
    pub cancel_url: Option<Url>,
    /// A coupon id applied to the session.
    pub coupon: Option<StripeId>,
    /// A promotion code applied: the code customers type or its `promo_…` id.
    pub promotion_code: Option<Text>,
    /// Let the customer type a promotion code on the page (not with coupon or promotion_code).
    #[serde(default)]
    pub allow_promotion_codes: bool,
    #[serde(default)]
    pub metadata: StringMap,
    pub idempotency_key: Option<IdempotencyKey>,
    #[serde(skip)]
    #[schemars(skip)]
    pub sale: Option<PlanSale>,
    /// The promotion code's `promo_…` id, as the service resolved it.
    #[serde(skip)]
    #[schemars(skip)]
    pub promotion_code_id: Option<String>,
}

#[derive(Debug, Deserialize, serde::Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPortalSession {
    /// The ledger customer (linked to Stripe) or a Stripe customer id (`cus_…`).
    pub customer: CustomerId,
    /// Where the portal's back link goes.
    pub return_url: Option<Url>,
    pub idempotency_key: Option<IdempotencyKey>,
}

fn check_items(items: &[LineItem]) -> Result<(), Error> {
    if items.is_empty() || items.len() > 20 {
        return Err(Error::invalid("give 1 to 20 line_items"));
    }
    if items.iter().any(|i| i.quantity == 0) {
        return Err(Error::invalid("a line item's quantity must be 1 or more"));
    }
    Ok(())
}

/// The caller's metadata plus the customer and plan links.
fn tagged(m: &StringMap, customer: Option<&str>, plan: Option<&str>) -> HashMap<String, String> {
    let mut all = metadata(m);
    if let Some(c) = customer {
        all.insert(CUSTOMER_KEY.into(), c.into());
    }
    if let Some(p) = plan {
        all.insert(PLAN_KEY.into(), p.into());
    }
    all
}

impl Payments {
    pub async fn create_payment_link(&self, l: NewPaymentLink) -> Result<PaymentLinkView, Error> {
        check_items(&l.line_items)?;
        // A payment link line always carries a quantity, which Stripe refuses on a usage price:
        // those stay off the link and the answer says so.
        let usage: Vec<&str> = l
            .line_items
            .iter()
            .filter(|i| i.metered)
            .map(|i| i.price.0.as_str())
            .collect();
        let items: Vec<CreatePaymentLinkLineItems> = l
            .line_items
            .iter()
            .filter(|i| !i.metered)
            .map(|i| {
                let mut item = CreatePaymentLinkLineItems::new(i.quantity);
                item.price = Some(i.price.0.clone());
                item
            })
            .collect();
        if items.is_empty() {
            return Err(Error::invalid(
                "every price of this plan is a usage price, and a payment link cannot carry one: use create_checkout_session with plan and interval",
            ));
        }
        let meta = tagged(
            &l.metadata,
            l.customer.as_ref().map(|c| c.0.as_str()),
            l.plan.as_ref().map(|p| p.0.as_str()),
        );
        let trial_days = l.sale.as_ref().and_then(|s| s.trial_days);
        let mut req = CreatePaymentLink::new(items).metadata(meta.clone());
        if l.sale.is_some() {
            // A link's metadata does not reach the subscription it starts: it is given again.
            let mut data = CreatePaymentLinkSubscriptionData::new();
            data.metadata = Some(meta);
            data.trial_period_days = trial_days;
            req = req.subscription_data(data);
        }
        if let Some(url) = &l.redirect_url {
            let mut after = CreatePaymentLinkAfterCompletion::new(
                CreatePaymentLinkAfterCompletionType::Redirect,
            );
            after.redirect = Some(AfterCompletionRedirectParams::new(url.0.clone()));
            req = req.after_completion(after);
        }
        let link = self
            .write(req, &key("create_payment_link", &l.idempotency_key))
            .await?;
        let mut view = PaymentLinkView::from(&link);
        view.trial_days = trial_days;
        if !usage.is_empty() {
            view.note = Some(format!(
                "the plan's usage prices ({}) are not on the link: a payment link cannot carry a usage price; create_checkout_session with plan and interval includes them",
                usage.join(", ")
            ));
        }
        Ok(view)
    }

    /// `stripe_customer` is the resolved `cus_…` id, `ledger_customer` the operator's own id.
    pub async fn create_checkout_session(
        &self,
        s: NewCheckoutSession,
        stripe_customer: Option<String>,
        ledger_customer: Option<String>,
    ) -> Result<CheckoutSessionView, Error> {
        check_items(&s.line_items)?;
        let items: Vec<CreateCheckoutSessionLineItems> = s
            .line_items
            .iter()
            .map(|i| {
                let mut item = CreateCheckoutSessionLineItems::new();
                item.price = Some(i.price.0.clone());
                item.quantity = (!i.metered).then_some(i.quantity);
                item
            })
            .collect();
        let meta = tagged(
            &s.metadata,
            ledger_customer.as_deref(),
            s.plan.as_ref().map(|p| p.0.as_str()),
        );
        let mode = match s.mode {
            Mode::Payment => "payment",
            Mode::Subscription => "subscription",
        };
        let mut req = CreateCheckoutSession::new()
            .mode(parse::<stripe_shared::CheckoutSessionMode>(mode))
            .line_items(items)
            .success_url(s.success_url.0.clone())
            .metadata(meta.clone());
        let trial_days = match s.mode {
            Mode::Subscription => s.sale.as_ref().and_then(|s| s.trial_days),
            Mode::Payment => None,
        };
        if matches!(s.mode, Mode::Subscription) {
            let mut data = CreateCheckoutSessionSubscriptionData::new();
            data.metadata = Some(meta);
            data.trial_period_days = trial_days;
            req = req.subscription_data(data);
        }
        if let Some(url) = &s.cancel_url {
            req = req.cancel_url(url.0.clone());
        }
        let discount = one_discount(s.coupon.as_ref(), s.promotion_code_id.as_deref())?;
        if discount.is_some() && s.allow_promotion_codes {
            return Err(Error::invalid(
                "give coupon or promotion_code, or allow_promotion_codes: Stripe takes one",
            ));
        }
        if let Some((coupon, promotion_code)) = discount {
            let mut d = CreateCheckoutSessionDiscounts::new();
            d.coupon = coupon;
            d.promotion_code = promotion_code;
            req = req.discounts(vec![d]);
        }
        if s.allow_promotion_codes {
            req = req.allow_promotion_codes(true);
        }
        if let Some(c) = stripe_customer {
            req = req.customer(c);
        }
        if let Some(c) = ledger_customer {
            req = req.client_reference_id(c);
        }
        let session = self
            .write(req, &key("create_checkout_session", &s.idempotency_key))
            .await?;
        let mut view = CheckoutSessionView::from(&session);
        view.trial_days = trial_days;
        Ok(view)
    }

    pub async fn create_billing_portal_session(
        &self,
        stripe_customer: String,
        return_url: Option<&Url>,
        idempotency: &Option<IdempotencyKey>,
    ) -> Result<PortalSessionView, Error> {
        let mut req = CreateBillingPortalSession::new().customer(stripe_customer);
        if let Some(url) = return_url {
            req = req.return_url(url.0.clone());
        }
        let session = self
            .write(req, &key("create_billing_portal_session", idempotency))
            .await?;
        Ok(PortalSessionView::from(&session))
    }
}
