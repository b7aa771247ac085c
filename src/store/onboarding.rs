// The SQL of sign-up flows, written once and included into `sqlite.rs` and `postgres.rs` by
// `ledger.rs`.

use super::{ONBOARDING_COLUMNS, OnboardingLedger, OnboardingRecord};

async fn onboarding_of(conn: &mut Conn, id: &str) -> Result<Option<OnboardingRecord>, StoreError> {
    Ok(sqlx::query_as::<Db, OnboardingRecord>(sqlx::AssertSqlSafe(format!(
        "SELECT {ONBOARDING_COLUMNS} FROM onboarding WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Insert the flow, or merge it into the stored one: what a step made (setup intent,
/// subscription, completion) is kept once set, and the plan can change only until the
/// subscription is made. Answers the flow that stands.
async fn save_onboarding(conn: &mut Conn, o: OnboardingRecord) -> Result<OnboardingRecord, StoreError> {
    sqlx::query::<Db>(
        "INSERT INTO onboarding (id, email, name, company, customer_id, plan, billing_interval, promotion_code, \
         setup_intent_id, setup_client_secret, subscription_id, payment_secret, created_at, updated_at, expires_at, completed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
         ON CONFLICT (id) DO UPDATE SET \
           plan = CASE WHEN onboarding.subscription_id IS NULL THEN COALESCE(excluded.plan, onboarding.plan) ELSE onboarding.plan END, \
           billing_interval = CASE WHEN onboarding.subscription_id IS NULL THEN COALESCE(excluded.billing_interval, onboarding.billing_interval) ELSE onboarding.billing_interval END, \
           promotion_code = CASE WHEN onboarding.subscription_id IS NULL THEN COALESCE(excluded.promotion_code, onboarding.promotion_code) ELSE onboarding.promotion_code END, \
           setup_intent_id = COALESCE(onboarding.setup_intent_id, excluded.setup_intent_id), \
           setup_client_secret = COALESCE(onboarding.setup_client_secret, excluded.setup_client_secret), \
           subscription_id = COALESCE(onboarding.subscription_id, excluded.subscription_id), \
           payment_secret = COALESCE(onboarding.payment_secret, excluded.payment_secret), \
           completed_at = COALESCE(onboarding.completed_at, excluded.completed_at), \
           updated_at = excluded.updated_at",
    )
    .bind(&o.id)
    .bind(&o.email)
    .bind(&o.name)
    .bind(&o.company)
    .bind(&o.customer_id)
    .bind(&o.plan)
    .bind(&o.billing_interval)
    .bind(&o.promotion_code)
    .bind(&o.setup_intent_id)
    .bind(&o.setup_client_secret)
    .bind(&o.subscription_id)
    .bind(&o.payment_secret)
    .bind(o.created_at)
    .bind(o.updated_at)
    .bind(o.expires_at)
    .bind(o.completed_at)
    .execute(&mut *conn)
    .await?;
    Ok(onboarding_of(conn, &o.id).await?.unwrap_or(o))
}

#[async_trait::async_trait]
impl OnboardingLedger for Backend {
    async fn save_onboarding(&self, flow: OnboardingRecord) -> Result<OnboardingRecord, StoreError> {
        writer::submit(&self.writer, |r| Op::Onboarding(flow, r)).await
    }

    async fn get_onboarding(&self, id: &str) -> Result<Option<OnboardingRecord>, StoreError> {
        let mut conn = self.read.acquire().await?;
        onboarding_of(&mut conn, id).await
    }

    async fn onboardings_of(&self, email: &str) -> Result<Vec<OnboardingRecord>, StoreError> {
        let mut conn = self.read.acquire().await?;
        Ok(sqlx::query_as::<Db, OnboardingRecord>(sqlx::AssertSqlSafe(format!(
            "SELECT {ONBOARDING_COLUMNS} FROM onboarding WHERE email = $1 ORDER BY created_at, id"
        )))
        .bind(email)
        .fetch_all(&mut *conn)
        .await?)
    }
}
