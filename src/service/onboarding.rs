//! Signing a customer up as one resumable flow kept in the ledger (seed 003's six steps): start
//! (email, name, company) → the customer, in the ledger and at Stripe → a payment method (a setup
//! intent the customer completes with Stripe.js; Stripe's webhook tells the ledger) → the plan and
//! a discount code → the subscription → complete. Every step is idempotent: what it makes at
//! Stripe carries a key derived from the flow, so a step run again after a crash finds what the
//! first run made instead of making it twice. A flow not completed within [`FLOW_DAYS`] days is
//! abandoned; starting again with the same email then opens a new one.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::customers::{self, CreateCustomer};
use super::{App, BillingError};
use crate::core::period::rfc3339;
use crate::store::OnboardingRecord;
use crate::stripe::checkout::PlanInterval;
use crate::stripe::payment_methods::{NewSetupIntent, SetupUsage};
use crate::stripe::subscriptions::{NewSubscription, PaymentBehavior};
use crate::values::{CustomerId, IdempotencyKey, Name, Text, Token};

pub use super::onboarding_view::OnboardingView;

/// Days an open flow waits for its customer before it is abandoned.
pub const FLOW_DAYS: i64 = 7;
const DAY_MS: i64 = 24 * 3_600_000;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StartOnboarding {
    /// The email of the person signing up (the flow is found again by it).
    pub email: Text,
    pub name: Option<Text>,
    pub company: Option<Text>,
    /// The ledger id to give the customer (default: `c-` and a digest of the email, so the id
    /// carries no personal data).
    pub customer: Option<CustomerId>,
    /// The catalog plan, if already chosen (else continue_onboarding takes it).
    pub plan: Option<Name>,
    /// monthly (default) or yearly.
    pub interval: Option<PlanInterval>,
    /// A discount code the customer typed (checked before it is kept).
    pub promotion_code: Option<Text>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContinueOnboarding {
    pub onboarding_id: Token,
    /// The catalog plan chosen (list_plans shows them); it can change until the subscription.
    pub plan: Option<Name>,
    /// monthly (default) or yearly.
    pub interval: Option<PlanInterval>,
    /// A discount code the customer typed (checked before it is kept).
    pub promotion_code: Option<Text>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OnboardingQuery {
    /// The flow's id (`onb_…`), or the email it was started with (its newest flow).
    pub onboarding: Text,
}

/// An email as flows key it: trimmed, lower case, one `@` with a dot after it.
fn email_of(text: &str) -> Result<String, BillingError> {
    let email = text.trim().to_ascii_lowercase();
    let valid = match email.split_once('@') {
        Some((user, domain)) => {
            !user.is_empty()
                && domain.contains('.')
                && !domain.contains('@')
                && !email.contains(char::is_whitespace)
        }
        None => false,
    };
    if !valid || email.len() > 254 {
        return Err(BillingError::invalid(format!(
            "`{}` is not an email address",
            text.trim()
        )));
    }
    Ok(email)
}

fn digest(email: &str) -> String {
    hex::encode(&Sha256::digest(email.as_bytes())[..8])
}

fn interval_word(i: Option<PlanInterval>) -> Option<String> {
    i.map(crate::stripe::wire)
}

impl App {
    pub async fn start_onboarding(
        &self,
        p: StartOnboarding,
    ) -> Result<OnboardingView, BillingError> {
        self.stripe()?;
        let email = email_of(&p.email.0)?;
        let now = self.now();
        let earlier = self.store.onboardings_of(&email).await?;
        let flow = match earlier.last() {
            // An open or completed flow is resumed; an abandoned one is followed by a new one.
            Some(last) if last.completed_at.is_some() || last.expires_at > now => last.clone(),
            _ => {
                let customer = p
                    .customer
                    .as_ref()
                    .map_or_else(|| format!("c-{}", digest(&email)), |c| c.0.clone());
                let flow = OnboardingRecord {
                    id: format!("onb_{}_{}", digest(&email), earlier.len() + 1),
                    email: email.clone(),
                    name: p.name.as_ref().map(|n| n.0.clone()),
                    company: p.company.as_ref().map(|c| c.0.clone()),
                    customer_id: customer,
                    plan: None,
                    billing_interval: None,
                    promotion_code: None,
                    setup_intent_id: None,
                    setup_client_secret: None,
                    subscription_id: None,
                    payment_secret: None,
                    created_at: now,
                    updated_at: now,
                    expires_at: now + FLOW_DAYS * DAY_MS,
                    completed_at: None,
                };
                self.store.save_onboarding(flow).await?
            }
        };
        self.choose(flow, p.plan, p.interval, p.promotion_code)
            .await
    }

    pub async fn continue_onboarding(
        &self,
        p: ContinueOnboarding,
    ) -> Result<OnboardingView, BillingError> {
        self.stripe()?;
        let flow = self.flow(&p.onboarding_id.0).await?;
        if flow.completed_at.is_none() && flow.expires_at <= self.now() {
            return Err(BillingError::new(
                "onboarding_expired",
                format!(
                    "onboarding {} was abandoned (open past {}); start_onboarding with the same email opens a new one",
                    flow.id,
                    rfc3339(flow.expires_at)
                ),
            )
            .with("onboarding_id", flow.id.clone()));
        }
        self.choose(flow, p.plan, p.interval, p.promotion_code)
            .await
    }

    pub async fn get_onboarding(&self, q: OnboardingQuery) -> Result<OnboardingView, BillingError> {
        let given = q.onboarding.0.trim();
        let flow = match given.starts_with("onb_") {
            true => self.flow(given).await?,
            false => {
                let email = email_of(given)?;
                self.store
                    .onboardings_of(&email)
                    .await?
                    .pop()
                    .ok_or_else(|| not_found(&email))?
            }
        };
        let paid = self.store.payment_standing(&flow.customer_id).await?;
        let customer = self.store.get_customer(&flow.customer_id).await?;
        Ok(super::onboarding_view::view(
            &flow,
            customer.is_some_and(|c| c.stripe_customer_id.is_some()),
            paid.payment_method_configured,
            self.now(),
        ))
    }

    async fn flow(&self, id: &str) -> Result<OnboardingRecord, BillingError> {
        self.store
            .get_onboarding(id)
            .await?
            .ok_or_else(|| not_found(id))
    }

    /// Keep the plan choice (a discount code only once it can be redeemed), then advance.
    async fn choose(
        &self,
        mut flow: OnboardingRecord,
        plan: Option<Name>,
        interval: Option<PlanInterval>,
        promotion_code: Option<Text>,
    ) -> Result<OnboardingView, BillingError> {
        let choosing = plan.is_some() || interval.is_some() || promotion_code.is_some();
        let other_plan = plan
            .as_ref()
            .is_some_and(|p| flow.plan.as_deref() != Some(&p.0));
        if flow.subscription_id.is_some() && other_plan {
            return Err(BillingError::invalid(format!(
                "onboarding {} made its subscription already (plan `{}`); change_plan moves the customer to another plan",
                flow.id,
                flow.plan.as_deref().unwrap_or("-")
            )));
        }
        if choosing && flow.subscription_id.is_none() {
            if let Some(plan) = &plan {
                self.check_plan(&plan.0)?;
            }
            if let Some(code) = &promotion_code {
                let found = self
                    .get_discount(super::stripe_admin::discounts::DiscountQuery {
                        code: code.clone(),
                    })
                    .await?;
                if let Some(reason) = found.reason {
                    return Err(BillingError::new("promotion_code_not_redeemable", reason)
                        .with("promotion_code", code.0.clone()));
                }
            }
            flow.plan = plan.map(|p| p.0);
            flow.billing_interval = interval_word(interval);
            flow.promotion_code = promotion_code.map(|c| c.0);
            flow.updated_at = self.now();
            flow = self.store.save_onboarding(flow).await?;
        }
        self.advance(flow).await
    }

    /// Run every step that can run now, in order; the view of where the flow stops.
    async fn advance(&self, mut flow: OnboardingRecord) -> Result<OnboardingView, BillingError> {
        let now = self.now();
        // Read once: only Stripe's webhook changes it, never a step run here.
        let paid = self.store.payment_standing(&flow.customer_id).await?;
        if flow.completed_at.is_none() && flow.expires_at > now {
            let mut metadata = BTreeMap::from([("onboarding".to_string(), flow.id.clone())]);
            if let Some(company) = &flow.company {
                metadata.insert("company".into(), company.clone());
            }
            customers::create(
                self,
                CreateCustomer {
                    customer: flow.customer_id.clone(),
                    name: flow.name.clone(),
                    email: Some(flow.email.clone()),
                    plan: None,
                    interval: None,
                    metadata,
                },
            )
            .await?;
            if !paid.payment_method_configured && flow.setup_intent_id.is_none() {
                let intent = self
                    .create_setup_intent(NewSetupIntent {
                        customer: CustomerId(flow.customer_id.clone()),
                        usage: SetupUsage::OffSession,
                        metadata: Default::default(),
                        idempotency_key: Some(IdempotencyKey(format!("{}-setup", flow.id))),
                    })
                    .await?;
                flow.setup_intent_id = Some(intent.id);
                flow.setup_client_secret = intent.client_secret;
                flow.updated_at = now;
                flow = self.store.save_onboarding(flow).await?;
            }
            if paid.payment_method_configured
                && let Some(plan) = flow.plan.clone()
                && flow.subscription_id.is_none()
            {
                let interval = match flow.billing_interval.as_deref() {
                    Some("yearly") => PlanInterval::Yearly,
                    _ => PlanInterval::Monthly,
                };
                // The card the customer saved is what the subscription charges: a payment method a
                // setup intent attached is not the customer's default at Stripe.
                let saved = match &flow.setup_intent_id {
                    Some(id) => self.stripe()?.setup_intent(id).await?.payment_method,
                    None => None,
                };
                // …and the customer's default, for its other invoices too.
                if let Some(card) = saved.as_deref()
                    && paid.default_payment_method.is_none()
                {
                    let cus = self.stripe_customer(&flow.customer_id).await?;
                    self.stripe()?
                        .set_default_payment_method(&cus, card)
                        .await?;
                }
                let card = saved.or(paid.default_payment_method.clone());
                let created = self
                    .create_subscription(NewSubscription {
                        customer: CustomerId(flow.customer_id.clone()),
                        plan: Some(Name(plan)),
                        interval: Some(interval),
                        items: Vec::new(),
                        trial_days: None,
                        trial_end: None,
                        coupon: None,
                        promotion_code: flow.promotion_code.clone().map(Text),
                        payment_behavior: PaymentBehavior::DefaultIncomplete,
                        default_payment_method: card.map(crate::values::StripeId),
                        metadata: Default::default(),
                        idempotency_key: Some(IdempotencyKey(flow.id.clone())),
                    })
                    .await?;
                flow.subscription_id = Some(created.subscription.id.clone());
                flow.payment_secret = created
                    .client_secret
                    .filter(|_| created.client_secret_type.as_deref() == Some("payment"));
                flow.completed_at = Some(now);
                flow.updated_at = now;
                flow = self.store.save_onboarding(flow).await?;
            }
        }
        Ok(super::onboarding_view::view(
            &flow,
            true,
            paid.payment_method_configured,
            now,
        ))
    }
}

fn not_found(what: &str) -> BillingError {
    BillingError::new(
        "onboarding_not_found",
        format!("no onboarding `{what}`; start_onboarding with the customer's email opens one"),
    )
}
