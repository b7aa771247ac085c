// Retention's SQL, included into `sqlite.rs` and `postgres.rs` by `ledger.rs`: removing a
// customer's old usage events (under the customer's lock, like every write of its usage) while
// keeping what the tools read of them, clearing old webhook payloads, removing old audit entries,
// and what each kind's runs did. Every removal is a bounded batch in one writer transaction, and
// each counts only rows it changed itself: two processes removing at once neither fail nor count
// a row twice (the customer's lock serialises events; other rows are taken with `SKIP_LOCKED`,
// and every statement re-checks its condition).

use super::{Cutoff, EventRemoval, RetentionLedger, RetentionRun};

/// A removable event (see [`EventRemoval`]): `$1` customer, `$2` before, `$3` pending before.
macro_rules! removable_events {
    () => {
        "FROM usage_events WHERE customer_id = $1 AND occurred_at < $2 \
         AND (stripe_state = 'sent' OR stripe_state = 'ledger' OR (stripe_state = 'pending' AND occurred_at < $3)) \
         AND (billed_invoice IS NOT NULL OR NOT EXISTS (SELECT 1 FROM stripe_invoices i WHERE i.customer_id = $1 AND i.status IN ('draft', 'open')))"
    };
}

#[derive(sqlx::FromRow)]
struct RemovedEvent {
    id: String,
    meter: String,
    tool: String,
    quantity: i64,
    occurred_at: i64,
    idempotency_key: Option<String>,
    failed: i64,
}

/// Remove up to `r.limit` of the customer's removable events, oldest first, and fold them into
/// what stays; answers how many went.
async fn remove_events(conn: &mut Conn, r: &EventRemoval) -> Result<u64, StoreError> {
    let removed = sqlx::query_as::<Db, RemovedEvent>(concat!(
        "DELETE FROM usage_events WHERE id IN (SELECT id ",
        removable_events!(),
        " ORDER BY occurred_at, id LIMIT $4) RETURNING id, meter, tool, quantity, occurred_at, idempotency_key, CAST(",
        failed_outcome!(),
        " AS BIGINT) AS failed"
    ))
    .bind(&r.customer)
    .bind(r.before)
    .bind(r.pending_before)
    .bind(r.limit)
    .fetch_all(&mut *conn)
    .await?;
    if removed.is_empty() {
        return Ok(0);
    }
    let mut hours: BTreeMap<(i64, &str, &str, i64), (i64, i64)> = BTreeMap::new();
    for e in &removed {
        let sum = hours.entry((floor_hour(e.occurred_at), &e.meter, &e.tool, e.failed)).or_default();
        *sum = (sum.0 + 1, sum.1.saturating_add(e.quantity));
    }
    let rows: Vec<_> = hours.into_iter().collect();
    for chunk in rows.chunks(INSERT_CHUNK) {
        let mut qb = QueryBuilder::<Db>::new("INSERT INTO usage_removed (customer_id, hour, meter, tool, failed, events, quantity) ");
        qb.push_values(chunk, |mut b, ((hour, meter, tool, failed), (events, quantity))| {
            b.push_bind(&r.customer).push_bind(*hour).push_bind(*meter).push_bind(*tool).push_bind(*failed).push_bind(*events).push_bind(*quantity);
        });
        qb.push(
            " ON CONFLICT (customer_id, hour, meter, tool, failed) DO UPDATE SET \
             events = usage_removed.events + excluded.events, quantity = usage_removed.quantity + excluded.quantity",
        );
        qb.build().persistent(false).execute(&mut *conn).await?;
    }
    let keyed: Vec<(&str, &str)> = removed.iter().filter_map(|e| e.idempotency_key.as_deref().map(|k| (k, e.id.as_str()))).collect();
    for chunk in keyed.chunks(INSERT_CHUNK) {
        let mut qb = QueryBuilder::<Db>::new("INSERT INTO usage_event_keys (customer_id, idempotency_key, event_id) ");
        qb.push_values(chunk, |mut b, (key, id)| {
            b.push_bind(&r.customer).push_bind(*key).push_bind(*id);
        });
        qb.push(" ON CONFLICT DO NOTHING");
        qb.build().persistent(false).execute(&mut *conn).await?;
    }
    // The debits of removed events keep their event's meter and time.
    for chunk in removed.chunks(INSERT_CHUNK) {
        let mut qb = QueryBuilder::<Db>::new("UPDATE credit_entries SET event_meter = v.column2, event_at = v.column3 FROM (");
        qb.push_values(chunk, |mut b, e| {
            b.push_bind(&e.id).push_bind(&e.meter).push_bind(e.occurred_at);
        });
        qb.push(") AS v WHERE credit_entries.event_id = v.column1");
        qb.build().persistent(false).execute(&mut *conn).await?;
    }
    let newest = removed.iter().map(|e| e.occurred_at).max().unwrap_or(0);
    let count = removed.len() as u64;
    sqlx::query(
        "UPDATE customers SET events_removed = events_removed + $2, \
         removed_through = CASE WHEN removed_through < $3 THEN $3 ELSE removed_through END WHERE id = $1",
    )
    .bind(&r.customer)
    .bind(as_i64(count))
    .bind(newest)
    .execute(&mut *conn)
    .await?;
    Ok(count)
}

static OLD_PAYLOADS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT id FROM webhook_events WHERE payload <> '' AND received_at < $1 AND status IN ('processed', 'ignored') \
         ORDER BY received_at, id LIMIT $2 {SKIP_LOCKED}"
    )
});

static OLD_AUDIT: LazyLock<String> = LazyLock::new(|| format!("SELECT id FROM audit_log WHERE at < $1 ORDER BY at, id LIMIT $2 {SKIP_LOCKED}"));

/// Clear the payloads of webhook events received before the cutoff that are done with
/// (`processed` or `ignored`: never processed again). The row stays with its id, type, status
/// and outcome, so a redelivery is still a duplicate; failed and unfinished events keep their
/// payload for `retry_webhook_event`.
async fn clear_payloads(conn: &mut Conn, c: Cutoff) -> Result<u64, StoreError> {
    let ids = sqlx::query_scalar::<Db, String>(OLD_PAYLOADS.as_str()).bind(c.before).bind(c.limit).fetch_all(&mut *conn).await?;
    if ids.is_empty() {
        return Ok(0);
    }
    let mut qb = QueryBuilder::<Db>::new("UPDATE webhook_events SET payload = '' WHERE payload <> '' AND");
    push_ids(&mut qb, &ids);
    Ok(qb.build().persistent(LISTS_CACHED).execute(&mut *conn).await?.rows_affected())
}

async fn remove_audit(conn: &mut Conn, c: Cutoff) -> Result<u64, StoreError> {
    let ids = sqlx::query_scalar::<Db, String>(OLD_AUDIT.as_str()).bind(c.before).bind(c.limit).fetch_all(&mut *conn).await?;
    if ids.is_empty() {
        return Ok(0);
    }
    let mut qb = QueryBuilder::<Db>::new("DELETE FROM audit_log WHERE");
    push_ids(&mut qb, &ids);
    Ok(qb.build().persistent(LISTS_CACHED).execute(&mut *conn).await?.rows_affected())
}

async fn record_run(conn: &mut Conn, run: &RetentionRun) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO retention_runs (kind, cutoff, ran_at, removed, removed_total) VALUES ($1, $2, $3, $4, $4) \
         ON CONFLICT (kind) DO UPDATE SET cutoff = excluded.cutoff, ran_at = excluded.ran_at, removed = excluded.removed, \
         removed_total = retention_runs.removed_total + excluded.removed",
    )
    .bind(&run.kind)
    .bind(run.cutoff)
    .bind(run.ran_at)
    .bind(run.removed)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[async_trait::async_trait]
impl RetentionLedger for Backend {
    async fn has_removable_events(&self, r: &EventRemoval) -> Result<bool, StoreError> {
        // On the read pool, so a customer with nothing to remove never takes the writer.
        Ok(sqlx::query_scalar::<Db, String>(concat!("SELECT id ", removable_events!(), " LIMIT 1"))
            .bind(&r.customer)
            .bind(r.before)
            .bind(r.pending_before)
            .fetch_optional(&self.read)
            .await?
            .is_some())
    }

    async fn remove_events(&self, r: EventRemoval) -> Result<u64, StoreError> {
        writer::submit(&self.writer, |reply| Op::RemoveEvents(r, reply)).await
    }

    async fn clear_webhook_payloads(&self, c: Cutoff) -> Result<u64, StoreError> {
        writer::submit(&self.writer, |reply| Op::ClearPayloads(c, reply)).await
    }

    async fn remove_audit(&self, c: Cutoff) -> Result<u64, StoreError> {
        writer::submit(&self.writer, |reply| Op::RemoveAudit(c, reply)).await
    }

    async fn record_retention_run(&self, run: RetentionRun) -> Result<(), StoreError> {
        writer::submit(&self.writer, |reply| Op::RecordRun(run, reply)).await
    }

    async fn retention_runs(&self) -> Result<Vec<RetentionRun>, StoreError> {
        Ok(sqlx::query_as::<Db, RetentionRun>("SELECT kind, cutoff, ran_at, removed, removed_total FROM retention_runs ORDER BY kind")
            .fetch_all(&self.read)
            .await?)
    }

    async fn oldest_event(&self, customer: &str) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar::<Db, Option<i64>>("SELECT MIN(occurred_at) FROM usage_events WHERE customer_id = $1")
            .bind(customer)
            .fetch_one(&self.read)
            .await?)
    }
}
