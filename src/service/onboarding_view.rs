//! Where a sign-up flow stands, worked out from what the ledger holds: the steps done, the one
//! waiting, what it needs in words and the call that moves it on.

use schemars::JsonSchema;
use serde::Serialize;

use crate::core::period::rfc3339;
use crate::store::OnboardingRecord;

/// Where a flow stands and what it needs next.
#[derive(Debug, Serialize, JsonSchema)]
pub struct OnboardingView {
    pub onboarding_id: String,
    pub email: String,
    pub name: Option<String>,
    pub company: Option<String>,
    /// The ledger customer the flow makes.
    pub customer: String,
    /// The step waiting: customer, payment_method, plan, subscription, complete or expired.
    pub step: String,
    /// Steps done, in order.
    pub done: Vec<String>,
    /// What the waiting step needs, in words.
    pub missing: Vec<String>,
    /// The tool call that moves the flow on, when one does.
    pub next_call: Option<String>,
    /// While the payment method is missing: for Stripe.js `confirmSetup` in the customer's
    /// browser. Give it only to that customer.
    pub setup_client_secret: Option<String>,
    pub plan: Option<String>,
    pub interval: Option<String>,
    pub promotion_code: Option<String>,
    pub subscription_id: Option<String>,
    /// When the subscription's first invoice waits for a payment: for Stripe.js `confirmPayment`.
    pub payment_client_secret: Option<String>,
    pub created_at: String,
    pub expires_at: String,
    pub completed_at: Option<String>,
}

/// The view of `flow` at `now`: `linked` when its customer has a Stripe customer, `paid` when
/// Stripe holds a payment method for it.
pub fn view(flow: &OnboardingRecord, linked: bool, paid: bool, now: i64) -> OnboardingView {
    let id = &flow.id;
    let mut done = vec!["start".to_string()];
    let (step, missing, next_call): (&str, Vec<String>, Option<String>) = if flow
        .completed_at
        .is_some()
    {
        done.extend(["customer", "payment_method", "plan", "subscription"].map(String::from));
        (
                "complete",
                match &flow.payment_secret {
                    Some(_) => vec!["nothing; the first invoice waits for the customer's payment: Stripe.js confirmPayment with payment_client_secret".into()],
                    None => Vec::new(),
                },
                None,
            )
    } else if flow.expires_at <= now {
        (
            "expired",
            vec![format!(
                "nothing can continue: the flow was abandoned at {}; start_onboarding with the same email opens a new one",
                rfc3339(flow.expires_at)
            )],
            Some(format!(
                "start_onboarding {{\"email\": \"{}\"}}",
                flow.email
            )),
        )
    } else if !linked {
        (
            "customer",
            vec!["the customer at Stripe: the last attempt failed, call again".into()],
            Some(format!(
                "continue_onboarding {{\"onboarding_id\": \"{id}\"}}"
            )),
        )
    } else if !paid {
        done.push("customer".into());
        (
                "payment_method",
                vec!["a payment method: the customer completes the setup in the browser (Stripe.js confirmSetup with setup_client_secret); Stripe's setup_intent.succeeded webhook tells the ledger".into()],
                Some(format!("get_onboarding {{\"onboarding\": \"{id}\"}} until the step moves on, then continue_onboarding {{\"onboarding_id\": \"{id}\"}}")),
            )
    } else if flow.plan.is_none() {
        done.extend(["customer", "payment_method"].map(String::from));
        (
            "plan",
            vec![
                "the plan (list_plans shows them), with interval and a discount code if any".into(),
            ],
            Some(format!(
                "continue_onboarding {{\"onboarding_id\": \"{id}\", \"plan\": \"…\"}}"
            )),
        )
    } else {
        done.extend(["customer", "payment_method", "plan"].map(String::from));
        (
            "subscription",
            vec!["the subscription: the last attempt did not finish, call again".into()],
            Some(format!(
                "continue_onboarding {{\"onboarding_id\": \"{id}\"}}"
            )),
        )
    };
    let waiting_for_method = step == "payment_method";
    OnboardingView {
        onboarding_id: flow.id.clone(),
        email: flow.email.clone(),
        name: flow.name.clone(),
        company: flow.company.clone(),
        customer: flow.customer_id.clone(),
        step: step.into(),
        done,
        missing,
        next_call,
        setup_client_secret: flow
            .setup_client_secret
            .clone()
            .filter(|_| waiting_for_method),
        plan: flow.plan.clone(),
        interval: flow.billing_interval.clone(),
        promotion_code: flow.promotion_code.clone(),
        subscription_id: flow.subscription_id.clone(),
        payment_client_secret: flow.payment_secret.clone(),
        created_at: rfc3339(flow.created_at),
        expires_at: rfc3339(flow.expires_at),
        completed_at: flow.completed_at.map(rfc3339),
    }
}
