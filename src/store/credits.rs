// Credits in the ledger, included into `sqlite.rs` and `postgres.rs` by `ledger.rs`: grants,
// adjustments (a goodwill grant, or credits taken back — never below zero), expiry written as an
// entry once, and the one debit step every burn goes through. Each runs under its customer's
// lock in the writer's transaction.

use super::{Adjusted, AdjustmentRecord, CreditEntryRecord, CreditLedger, Granted, NewAdjustment, NewGrant};

/// The grant columns, in [`GrantRecord`]'s order.
macro_rules! grant_columns {
    () => {
        "id, customer_id, credits, remaining, priority, expires_at, source, description, idempotency_key, created_at"
    };
}

/// A query of grants: the grant columns of `credit_grants`, then `$rest`.
macro_rules! select_grants {
    ($rest:literal) => {
        concat!("SELECT ", grant_columns!(), " FROM credit_grants ", $rest)
    };
}

async fn live_grants(conn: &mut Conn, customer: &str) -> Result<Vec<GrantRecord>, StoreError> {
    Ok(sqlx::query_as::<Db, GrantRecord>(select_grants!("WHERE customer_id = $1 AND remaining > 0"))
    .bind(customer)
    .fetch_all(&mut *conn)
    .await?)
}

/// Take `take` credits from one grant and write the entry that says why (`debit` for usage,
/// `adjustment`, `expiry`), naming the event or adjustment.
async fn take_credits(conn: &mut Conn, customer: &str, grant_id: &str, take: u64, kind: &str, source: Option<&str>, at: i64) -> Result<(), StoreError> {
    let take = i64::try_from(take).map_err(|_| StoreError::Corrupt("credit amount overflows".into()))?;
    let updated = sqlx::query("UPDATE credit_grants SET remaining = remaining - $2 WHERE id = $1 AND remaining >= $2")
        .bind(grant_id)
        .bind(take)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if updated != 1 {
        return Err(StoreError::Corrupt(format!("grant {grant_id} changed under its customer's lock")));
    }
    write_entry(conn, customer, grant_id, kind, -take, source, at).await
}

/// One entry of the credit ledger: `credits` (signed) moved on one grant, and why (`kind`, and
/// the event or adjustment it was for).
async fn write_entry(conn: &mut Conn, customer: &str, grant_id: &str, kind: &str, credits: i64, source: Option<&str>, at: i64) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO credit_entries (id, customer_id, grant_id, kind, credits, event_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(crate::ids::new_id("cde"))
        .bind(customer)
        .bind(grant_id)
        .bind(kind)
        .bind(credits)
        .bind(source)
        .bind(at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Write off what expired grants still held, once: each gets an `expiry` entry dated at its
/// expiry and keeps nothing. Returns the credits written off.
async fn expire_credits(conn: &mut Conn, customer: &str, now: i64) -> Result<u64, StoreError> {
    let expired = sqlx::query_as::<Db, GrantRecord>(select_grants!(
        "WHERE customer_id = $1 AND remaining > 0 AND expires_at IS NOT NULL AND expires_at <= $2"
    ))
    .bind(customer)
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    let mut total = 0_u64;
    for g in expired {
        let left = u64::try_from(g.remaining).unwrap_or(0);
        take_credits(conn, customer, &g.id, left, "expiry", None, g.expires_at.unwrap_or(now)).await?;
        total = total.saturating_add(left);
    }
    Ok(total)
}

const ADJUSTMENT_COLUMNS: &str = "id, customer_id, credits, grant_id, reason, idempotency_key, created_at";

/// Add credits (a new grant) or take them back (from one grant, or in burn order), never below
/// zero; idempotent by key.
async fn adjust_credits(conn: &mut Conn, a: &NewAdjustment, known: &Known) -> Result<Adjusted, StoreError> {
    if known.live(&a.customer).is_none() {
        return Ok(Adjusted::UnknownCustomer);
    }
    if let Some(key) = &a.idempotency_key {
        let sql = format!("SELECT {ADJUSTMENT_COLUMNS} FROM credit_adjustments WHERE customer_id = $1 AND idempotency_key = $2");
        let existing = sqlx::query_as::<Db, AdjustmentRecord>(sqlx::AssertSqlSafe(sql)).bind(&a.customer).bind(key).fetch_optional(&mut *conn).await?;
        if let Some(existing) = existing {
            return Ok(Adjusted::Duplicate(existing));
        }
    }
    expire_credits(conn, &a.customer, a.now).await?;
    let grants: Vec<_> = live_grants(conn, &a.customer).await?;
    let mut grant_id = a.grant_id.clone();
    // What the adjustment added (+) or took back (−).
    let mut taken = a.credits;
    if a.credits > 0 {
        let id = crate::ids::new_id("cgr");
        let g = NewGrant {
            id: id.clone(),
            customer: a.customer.clone(),
            credits: a.credits,
            priority: 50,
            expires_at: None,
            source: "adjustment".into(),
            description: Some(a.reason.clone()),
            idempotency_key: None,
            purchase: None,
            now: a.now,
        };
        grant(conn, &g, known).await?;
        grant_id = Some(id);
    } else {
        let wanted = a.credits.unsigned_abs();
        let parts = match &a.grant_id {
            Some(id) => match grants.iter().find(|g| g.id == *id && g.customer_id == a.customer) {
                None if !grant_exists(conn, &a.customer, id).await? => return Ok(Adjusted::UnknownGrant),
                found => {
                    let left = found.map_or(0, |g| u64::try_from(g.remaining).unwrap_or(0));
                    // Nothing given: all the grant still holds.
                    let take = if a.credits == 0 { left } else { wanted };
                    if take > left {
                        return Ok(Adjusted::Insufficient { balance: left });
                    }
                    vec![(id.clone(), take)]
                }
            },
            None => {
                let core: Vec<_> = grants.iter().map(GrantRecord::to_core).collect();
                match credit::burn(&core, wanted, a.now) {
                    Ok(parts) => parts,
                    Err(balance) => return Ok(Adjusted::Insufficient { balance }),
                }
            }
        };
        let total: u64 = parts.iter().map(|(_, t)| *t).sum();
        taken = -i64::try_from(total).map_err(|_| StoreError::Corrupt("credit amount overflows".into()))?;
        for (grant, take) in parts.into_iter().filter(|(_, t)| *t > 0) {
            take_credits(conn, &a.customer, &grant, take, "adjustment", Some(&a.id), a.now).await?;
        }
    }
    let sql = format!(
        "INSERT INTO credit_adjustments ({ADJUSTMENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {ADJUSTMENT_COLUMNS}"
    );
    let record = sqlx::query_as::<Db, AdjustmentRecord>(sqlx::AssertSqlSafe(sql))
        .bind(&a.id)
        .bind(&a.customer)
        .bind(taken)
        .bind(&grant_id)
        .bind(&a.reason)
        .bind(&a.idempotency_key)
        .bind(a.now)
        .fetch_one(&mut *conn)
        .await?;
    Ok(Adjusted::Adjusted(record))
}

async fn grant_exists(conn: &mut Conn, customer: &str, id: &str) -> Result<bool, StoreError> {
    Ok(sqlx::query_scalar::<Db, String>("SELECT id FROM credit_grants WHERE id = $1 AND customer_id = $2")
        .bind(id)
        .bind(customer)
        .fetch_optional(&mut *conn)
        .await?
        .is_some())
}

async fn grant(conn: &mut Conn, g: &NewGrant, known: &Known) -> Result<Granted, StoreError> {
    if known.live(&g.customer).is_none() {
        return Ok(Granted::UnknownCustomer);
    }
    if let Some(key) = &g.idempotency_key {
        let existing = sqlx::query_as::<Db, GrantRecord>(select_grants!("WHERE customer_id = $1 AND idempotency_key = $2"))
        .bind(&g.customer)
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(existing) = existing {
            return Ok(Granted::Duplicate(existing));
        }
    }
    let record = sqlx::query_as::<Db, GrantRecord>(concat!(
        "INSERT INTO credit_grants (",
        grant_columns!(),
        ") VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $8, $9) RETURNING ",
        grant_columns!()
    ))
    .bind(&g.id)
    .bind(&g.customer)
    .bind(g.credits)
    .bind(g.priority)
    .bind(g.expires_at)
    .bind(&g.source)
    .bind(&g.description)
    .bind(&g.idempotency_key)
    .bind(g.now)
    .fetch_one(&mut *conn)
    .await?;
    if let Some(p) = &g.purchase {
        sqlx::query("UPDATE credit_grants SET pack = $2, paid_amount = $3, paid_currency = $4 WHERE id = $1")
            .bind(&g.id)
            .bind(&p.pack)
            .bind(p.amount)
            .bind(&p.currency)
            .execute(&mut *conn)
            .await?;
    }
    write_entry(conn, &g.customer, &g.id, &g.source, g.credits, None, g.now).await?;
    Ok(Granted::Granted(record))
}

#[derive(sqlx::FromRow)]
struct BurnedRow {
    meter: String,
    credits: i64,
}

#[async_trait::async_trait]
impl CreditLedger for Backend {
    async fn credits_burned(&self, customer: &str, from: i64, to: i64) -> Result<BTreeMap<String, u64>, StoreError> {
        let rows = sqlx::query_as::<Db, BurnedRow>(
            // A removed event's debit keeps its meter and time (retention).
            "SELECT COALESCE(e.meter, c.event_meter) AS meter, CAST(-SUM(c.credits) AS BIGINT) AS credits \
             FROM credit_entries c LEFT JOIN usage_events e ON e.id = c.event_id \
             WHERE c.customer_id = $1 AND c.kind = 'debit' AND COALESCE(e.occurred_at, c.event_at) >= $2 \
             AND COALESCE(e.occurred_at, c.event_at) < $3 GROUP BY COALESCE(e.meter, c.event_meter)",
        )
        .bind(customer)
        .bind(from)
        .bind(to)
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(|r| (r.meter, u64::try_from(r.credits).unwrap_or(0))).collect())
    }

    async fn grant_credits(&self, g: NewGrant) -> Result<Granted, StoreError> {
        writer::submit(&self.writer, |r| Op::Grant(g, r)).await
    }

    async fn adjust_credits(&self, a: NewAdjustment) -> Result<Adjusted, StoreError> {
        writer::submit(&self.writer, |r| Op::Adjust(a, r)).await
    }

    async fn expire_credits(&self, customer: &str, now: i64) -> Result<u64, StoreError> {
        let customer = customer.to_string();
        writer::submit(&self.writer, |reply| Op::Expire { customer, now, reply }).await
    }

    async fn credit_grants(&self, customer: &str) -> Result<Vec<GrantRecord>, StoreError> {
        Ok(sqlx::query_as::<Db, GrantRecord>(select_grants!("WHERE customer_id = $1 ORDER BY created_at, id")).bind(customer).fetch_all(&self.read).await?)
    }

    async fn credit_entries(&self, customer: &str, limit: i64) -> Result<Vec<CreditEntryRecord>, StoreError> {
        Ok(sqlx::query_as::<Db, CreditEntryRecord>(
            "SELECT id, customer_id, grant_id, kind, credits, event_id, created_at FROM credit_entries \
             WHERE customer_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(customer)
        .bind(limit)
        .fetch_all(&self.read)
        .await?)
    }
}
