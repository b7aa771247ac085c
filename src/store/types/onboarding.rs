//! A sign-up flow as the ledger keeps it.

/// One onboarding flow: who signs up, the ledger customer it makes, the plan chosen, and what each
/// step made at Stripe. Step fields, once set, stay set.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OnboardingRecord {
    pub id: String,
    /// Lower case.
    pub email: String,
    pub name: Option<String>,
    pub company: Option<String>,
    pub customer_id: String,
    pub plan: Option<String>,
    /// `monthly` or `yearly`.
    pub billing_interval: Option<String>,
    /// As customers type it.
    pub promotion_code: Option<String>,
    pub setup_intent_id: Option<String>,
    pub setup_client_secret: Option<String>,
    pub subscription_id: Option<String>,
    /// The first invoice's payment secret, when the subscription waits for a payment.
    pub payment_secret: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// An open flow past this instant is abandoned.
    pub expires_at: i64,
    pub completed_at: Option<i64>,
}

/// The onboarding columns, in [`OnboardingRecord`]'s order.
pub const ONBOARDING_COLUMNS: &str = "id, email, name, company, customer_id, plan, billing_interval, \
     promotion_code, setup_intent_id, setup_client_secret, subscription_id, payment_secret, \
     created_at, updated_at, expires_at, completed_at";
