// Customers in the ledger, included into `sqlite.rs` and `postgres.rs` by `ledger.rs`: a new
// customer, its plan, status and period (with the plan changes the invoice reads), its name, email
// and metadata, its reserved capacity, its Stripe link and its erasure (`erase.rs`). Each write
// runs under the customer's lock in the writer's transaction.

use super::{
    Changed, Created, CustomerChange, CustomerLedger, CustomerErasure, Erased, NewCustomer, Page, PlanChange, PlanChangeRecord,
    ReservedWrite, StripeLink,
};

/// The customer queries, built once from [`CUSTOMER_COLUMNS`].
static CUSTOMER_BY_ID: std::sync::LazyLock<&'static str> = std::sync::LazyLock::new(|| customers_sql("WHERE id = $1"));
static ALL_CUSTOMERS: std::sync::LazyLock<&'static str> = std::sync::LazyLock::new(|| customers_sql("ORDER BY id"));
static CUSTOMERS_AFTER: std::sync::LazyLock<&'static str> = std::sync::LazyLock::new(|| customers_sql("WHERE id > $1 ORDER BY id LIMIT $2"));
static LIVE_CUSTOMERS_AFTER: std::sync::LazyLock<&'static str> =
    std::sync::LazyLock::new(|| customers_sql("WHERE id > $1 AND deleted_at IS NULL ORDER BY id LIMIT $2"));
static CUSTOMER_BY_STRIPE: std::sync::LazyLock<&'static str> =
    std::sync::LazyLock::new(|| customers_sql("WHERE stripe_customer_id = $1 ORDER BY id LIMIT 1"));

fn customers_sql(rest: &str) -> &'static str {
    Box::leak(format!("SELECT {CUSTOMER_COLUMNS} FROM customers {rest}").into_boxed_str())
}

async fn fetch_customer(conn: &mut Conn, id: &str) -> Result<Option<CustomerRecord>, StoreError> {
    Ok(sqlx::query_as::<Db, CustomerRecord>(*CUSTOMER_BY_ID)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?)
}

async fn create_customer(conn: &mut Conn, c: &NewCustomer, known: &mut Known) -> Result<Created, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO customers (id, name, email, plan, billing_interval, status, period_anchor, trial_ends_at, \
         metadata, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) ON CONFLICT (id) DO NOTHING",
    )
    .bind(&c.id)
    .bind(&c.name)
    .bind(&c.email)
    .bind(&c.plan)
    .bind(&c.billing_interval)
    .bind(&c.status)
    .bind(c.period_anchor)
    .bind(c.trial_ends_at)
    .bind(&c.metadata)
    .bind(c.now)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    let record = fetch_customer(conn, &c.id).await?.ok_or_else(|| StoreError::Corrupt(format!("customer {} vanished", c.id)))?;
    known.refresh(conn, &c.id).await?;
    Ok(if inserted { Created::Created(record) } else { Created::Existing(record) })
}

/// A query of plan changes: the columns of [`PlanChangeRecord`] from `plan_changes`, then `$rest`.
macro_rules! select_plan_changes {
    ($rest:literal) => {
        concat!(
            "SELECT id, customer_id, at, previous_plan, previous_interval, previous_anchor, plan, billing_interval FROM plan_changes ",
            $rest
        )
    };
}

/// Change a customer's plan, status or period. A change of plan or interval is kept in
/// `plan_changes` and starts the new plan's billing (`plan_since`), so the invoice keeps what the
/// old plan owed; a new period (a moved anchor) starts the billing afresh.
async fn change_plan(conn: &mut Conn, c: &PlanChange) -> Result<Option<CustomerRecord>, StoreError> {
    let Some(current) = fetch_customer(conn, &c.customer).await? else { return Ok(None) };
    let changed = current.plan != c.plan || current.billing_interval != c.billing_interval;
    let new_period = c.new_period || c.period_anchor != current.period_anchor;
    let mut plan_since = current.plan_since;
    // A period restarted by hand (or a purchase) inside the old one closes it: kept so the first
    // invoice of the new period shows what the old one still owed.
    if changed || c.new_period {
        // A change that undoes the last one at the same moment leaves no trace.
        let last = sqlx::query_as::<Db, PlanChangeRecord>(
            select_plan_changes!("WHERE customer_id = $1 ORDER BY at DESC, id DESC LIMIT 1"),
        )
        .bind(&c.customer)
        .fetch_optional(&mut *conn)
        .await?;
        match last {
            Some(l) if !new_period && l.at == c.at && l.previous_plan == c.plan && l.previous_interval == c.billing_interval => {
                sqlx::query("DELETE FROM plan_changes WHERE id = $1").bind(&l.id).execute(&mut *conn).await?;
                plan_since = sqlx::query_scalar::<Db, i64>("SELECT CAST(COALESCE(MAX(at), 0) AS BIGINT) FROM plan_changes WHERE customer_id = $1")
                    .bind(&c.customer)
                    .fetch_one(&mut *conn)
                    .await?;
            }
            _ => {
                // In a new period the change is at its start (the old period is closed).
                let at = if new_period { c.period_anchor.min(c.at) } else { c.at };
                sqlx::query(
                    "INSERT INTO plan_changes (id, customer_id, at, previous_plan, previous_interval, previous_anchor, plan, billing_interval) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(crate::ids::new_id("pch"))
                .bind(&c.customer)
                .bind(at)
                .bind(&current.plan)
                .bind(&current.billing_interval)
                .bind(new_period.then_some(current.period_anchor))
                .bind(&c.plan)
                .bind(&c.billing_interval)
                .execute(&mut *conn)
                .await?;
                plan_since = if new_period { 0 } else { c.at };
            }
        }
    }
    if new_period {
        plan_since = 0;
    }
    if current.status != c.status {
        sqlx::query("INSERT INTO status_changes (id, customer_id, at, previous_status, status) VALUES ($1, $2, $3, $4, $5)")
            .bind(crate::ids::new_id("sch"))
            .bind(&c.customer)
            .bind(c.at)
            .bind(&current.status)
            .bind(&c.status)
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query(
        "UPDATE customers SET plan = $2, billing_interval = $3, status = $4, period_anchor = $5, trial_ends_at = $6, \
         updated_at = $7, plan_since = $8 WHERE id = $1",
    )
    .bind(&c.customer)
    .bind(&c.plan)
    .bind(&c.billing_interval)
    .bind(&c.status)
    .bind(c.period_anchor)
    .bind(c.trial_ends_at)
    .bind(c.now)
    .bind(plan_since)
    .execute(&mut *conn)
    .await?;
    fetch_customer(conn, &c.customer).await
}

async fn set_reserved(conn: &mut Conn, w: &ReservedWrite) -> Result<Option<CustomerRecord>, StoreError> {
    sqlx::query("UPDATE customers SET reserved_tiers = $2, updated_at = $3 WHERE id = $1")
        .bind(&w.customer)
        .bind(&w.reserved_tiers)
        .bind(w.now)
        .execute(&mut *conn)
        .await?;
    fetch_customer(conn, &w.customer).await
}

/// Link a Stripe customer, unless one is linked already (a link is never silently replaced).
async fn link_stripe(conn: &mut Conn, l: &StripeLink) -> Result<Option<CustomerRecord>, StoreError> {
    let linked = sqlx::query("UPDATE customers SET stripe_customer_id = $2, updated_at = $3 WHERE id = $1 AND stripe_customer_id IS NULL")
        .bind(&l.customer)
        .bind(&l.stripe_customer_id)
        .bind(l.now)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if linked == 1 {
        // Events that waited for a Stripe customer are due at once.
        sqlx::query("UPDATE usage_events SET stripe_next_at = 0 WHERE customer_id = $1 AND stripe_state = 'pending'")
            .bind(&l.customer)
            .execute(&mut *conn)
            .await?;
    }
    fetch_customer(conn, &l.customer).await
}

#[async_trait::async_trait]
impl CustomerLedger for Backend {
    async fn create_customer(&self, customer: NewCustomer) -> Result<Created, StoreError> {
        writer::submit(&self.writer, |r| Op::CreateCustomer(customer, r)).await
    }

    async fn get_customer(&self, id: &str) -> Result<Option<CustomerRecord>, StoreError> {
        let mut conn = self.read.acquire().await?;
        fetch_customer(&mut conn, id).await
    }

    async fn list_customers(&self, page: Page<'_>, include_deleted: bool) -> Result<Vec<CustomerRecord>, StoreError> {
        // Any customer's id is a place in the list, a deleted one's too (it may have been deleted
        // between two pages).
        cursor_known(&self.read, "SELECT COUNT(*) FROM customers WHERE id = $1", page.starting_after, &[]).await?;
        let sql = if include_deleted { *CUSTOMERS_AFTER } else { *LIVE_CUSTOMERS_AFTER };
        Ok(sqlx::query_as::<Db, CustomerRecord>(sql)
        .bind(page.starting_after.unwrap_or(""))
        .bind(page.limit)
        .fetch_all(&self.read)
        .await?)
    }

    async fn change_plan(&self, change: PlanChange) -> Result<Option<CustomerRecord>, StoreError> {
        writer::submit(&self.writer, |r| Op::ChangePlan(change, r)).await
    }

    async fn link_stripe(&self, link: StripeLink) -> Result<Option<CustomerRecord>, StoreError> {
        writer::submit(&self.writer, |r| Op::LinkStripe(link, r)).await
    }

    async fn change_customer(&self, change: CustomerChange) -> Result<Changed, StoreError> {
        writer::submit(&self.writer, |r| Op::ChangeCustomer(change, r)).await
    }

    async fn erase_customer(&self, erasure: CustomerErasure) -> Result<Option<Erased>, StoreError> {
        // Audit entries queued before (the customer's last calls) commit first: a batch stores
        // its queued entries after its operations, which would leave them unerased.
        writer::submit(&self.writer, Op::Barrier).await?;
        writer::submit(&self.writer, |r| Op::EraseCustomer(erasure, r)).await
    }

    async fn plan_changes(&self, customer: &str, from: i64, to: i64) -> Result<Vec<PlanChangeRecord>, StoreError> {
        Ok(sqlx::query_as::<Db, PlanChangeRecord>(
            select_plan_changes!("WHERE customer_id = $1 AND at >= $2 AND at < $3 ORDER BY at, id"),
        )
        .bind(customer)
        .bind(from)
        .bind(to)
        .fetch_all(&self.read)
        .await?)
    }

    async fn set_reserved(&self, write: ReservedWrite) -> Result<Option<CustomerRecord>, StoreError> {
        writer::submit(&self.writer, |r| Op::SetReserved(write, r)).await
    }

    async fn customer_by_stripe(&self, stripe_customer_id: &str) -> Result<Option<CustomerRecord>, StoreError> {
        Ok(sqlx::query_as::<Db, CustomerRecord>(*CUSTOMER_BY_STRIPE)
        .bind(stripe_customer_id)
        .fetch_optional(&self.read)
        .await?)
    }
}
