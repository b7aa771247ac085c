// The outbox of usage events due for Stripe, included into `sqlite.rs` and `postgres.rs` by
// `ledger.rs`: due events are read on the read pool and leased through the writer (so no two
// senders take the same event) by the one process that holds the sender lease, then settled as
// sent, retried, released or failed, or put back; and read back by state, in all or per meter.

use super::{MeterDelivery, OutboxClaim, OutboxEvent, OutboxLedger, OutboxOutcome, OutboxSummary, Requeue};

#[derive(sqlx::FromRow)]
struct IdRow {
    id: String,
}

/// Take or renew the sender lease for `sender` until `lease_until`: it is free, lapsed, or
/// this sender's own. Another process's live lease wins (nothing is claimed).
async fn take_sender(conn: &mut Conn, sender: &str, now: i64, lease_until: i64) -> Result<bool, StoreError> {
    Ok(sqlx::query_scalar::<Db, String>(
        "INSERT INTO outbox_sender (name, owner, until) VALUES ('meter_events', $1, $2) \
         ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until \
         WHERE outbox_sender.owner = excluded.owner OR outbox_sender.until <= $3 RETURNING owner",
    )
    .bind(sender)
    .bind(lease_until)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?
    .is_some())
}

/// Give up the sender lease (a sender that stops), so another process takes over at once.
async fn release_sender(conn: &mut Conn, sender: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM outbox_sender WHERE name = 'meter_events' AND owner = $1")
        .bind(sender)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// With the sender lease held, push `ids` out to the lease if they are still due (a failed
/// round of this process may have left some); RETURNING says which this one got.
async fn lease_outbox(conn: &mut Conn, sender: &str, ids: &[String], now: i64, lease_until: i64) -> Result<Vec<String>, StoreError> {
    if !take_sender(conn, sender, now, lease_until).await? {
        return Ok(Vec::new());
    }
    let mut qb = QueryBuilder::<Db>::new("UPDATE usage_events SET stripe_next_at = ");
    qb.push_bind(lease_until).push(" WHERE stripe_state = 'pending' AND stripe_next_at <= ").push_bind(now).push(" AND");
    push_ids(&mut qb, ids);
    qb.push(" RETURNING id");
    Ok(qb.build_query_as::<IdRow>().persistent(LISTS_CACHED).fetch_all(&mut *conn).await?.into_iter().map(|r| r.id).collect())
}

/// ` id IN (…)`.
fn push_ids(qb: &mut QueryBuilder<Db>, ids: &[String]) {
    qb.push(" id IN ");
    push_in(qb, ids);
}

/// Failed events back in the outbox, due at once (their attempts are kept).
async fn requeue(conn: &mut Conn, r: &Requeue) -> Result<u64, StoreError> {
    Ok(sqlx::query(
        "UPDATE usage_events SET stripe_state = 'pending', stripe_next_at = 0 WHERE customer_id = $1 AND stripe_state = 'failed' \
         AND ($2 = '' OR meter = $2) AND occurred_at >= $3 AND occurred_at < $4",
    )
    .bind(&r.customer)
    .bind(r.meter.as_deref().unwrap_or(""))
    .bind(r.from)
    .bind(r.to)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

async fn settle_outbox(conn: &mut Conn, outcomes: &[OutboxOutcome]) -> Result<(), StoreError> {
    for outcome in outcomes {
        let mut qb = QueryBuilder::<Db>::new("UPDATE usage_events SET ");
        let ids = match outcome {
            OutboxOutcome::Sent { ids, at } => {
                qb.push("stripe_state = 'sent', stripe_sent_at = ").push_bind(*at);
                qb.push(", stripe_attempts = stripe_attempts + 1, stripe_error = NULL WHERE");
                ids
            }
            OutboxOutcome::Retry { ids, next_at, error, attempted } => {
                // Events parked for want of a Stripe customer are due at once if one was linked
                // while the round ran (the link's release would otherwise be overwritten).
                qb.push("stripe_next_at = ");
                if *attempted {
                    qb.push_bind(*next_at);
                } else {
                    qb.push("CASE WHEN (SELECT c.stripe_customer_id FROM customers c WHERE c.id = usage_events.customer_id) \
                             IS NOT NULL THEN 0 ELSE ").push_bind(*next_at).push(" END");
                }
                qb.push(", stripe_error = ").push_bind(error.clone());
                qb.push(", stripe_attempts = stripe_attempts + ").push_bind(i64::from(*attempted));
                qb.push(" WHERE stripe_state = 'pending' AND");
                ids
            }
            OutboxOutcome::Release { ids } => {
                qb.push("stripe_next_at = 0 WHERE stripe_state = 'pending' AND");
                ids
            }
            OutboxOutcome::Failed { ids, error } => {
                qb.push("stripe_state = 'failed', stripe_error = ").push_bind(error.clone());
                qb.push(", stripe_attempts = stripe_attempts + 1 WHERE stripe_state = 'pending' AND");
                ids
            }
        };
        if ids.is_empty() {
            continue;
        }
        push_ids(&mut qb, ids);
        qb.build().persistent(LISTS_CACHED).execute(&mut *conn).await?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct StateCount {
    stripe_state: String,
    events: i64,
    oldest: Option<i64>,
}

#[async_trait::async_trait]
impl OutboxLedger for Backend {
    async fn claim_outbox(&self, claim: OutboxClaim) -> Result<Vec<OutboxEvent>, StoreError> {
        // Another process's live sender lease: nothing to read, nothing to ask the writer.
        let holder = sqlx::query_scalar::<Db, String>("SELECT owner FROM outbox_sender WHERE name = 'meter_events' AND until > $1")
            .bind(claim.now)
            .fetch_optional(&self.read)
            .await?;
        if holder.is_some_and(|owner| owner != claim.sender) {
            return Ok(Vec::new());
        }
        // The oldest due are read on the read pool, so an idle sender never takes the writer.
        let due = sqlx::query_as::<Db, OutboxEvent>(
            "SELECT e.id, e.customer_id, e.meter, e.quantity, e.occurred_at, e.dimensions, e.stripe_attempts, c.stripe_customer_id \
             FROM usage_events e JOIN customers c ON c.id = e.customer_id \
             WHERE e.stripe_state = 'pending' AND e.stripe_next_at <= $1 ORDER BY e.stripe_next_at, e.id LIMIT $2",
        )
        .bind(claim.now)
        .bind(claim.limit)
        .fetch_all(&self.read)
        .await?;
        if due.is_empty() {
            return Ok(due);
        }
        let ids = due.iter().map(|e| e.id.clone()).collect();
        let taken: BTreeSet<String> = writer::submit(&self.writer, |reply| Op::LeaseOutbox {
            sender: claim.sender,
            ids,
            now: claim.now,
            lease_until: claim.lease_until,
            reply,
        })
        .await?
        .into_iter()
        .collect();
        Ok(due.into_iter().filter(|e| taken.contains(&e.id)).collect())
    }

    async fn requeue(&self, r: Requeue) -> Result<u64, StoreError> {
        writer::submit(&self.writer, |reply| Op::Requeue(r, reply)).await
    }

    async fn settle_outbox(&self, outcomes: Vec<OutboxOutcome>) -> Result<(), StoreError> {
        writer::submit(&self.writer, |r| Op::SettleOutbox(outcomes, r)).await
    }

    async fn release_sender(&self, sender: &str) -> Result<(), StoreError> {
        let sender = sender.to_string();
        writer::submit(&self.writer, |r| Op::ReleaseSender(sender, r)).await
    }

    async fn outbox_summary(&self, customer: &str, from: i64, to: i64) -> Result<OutboxSummary, StoreError> {
        let counts = sqlx::query_as::<Db, StateCount>(
            "SELECT stripe_state, COUNT(*) AS events, MIN(occurred_at) AS oldest FROM usage_events \
             WHERE customer_id = $1 AND occurred_at >= $2 AND occurred_at < $3 GROUP BY stripe_state",
        )
        .bind(customer)
        .bind(from)
        .bind(to)
        .fetch_all(&self.read)
        .await?;
        let mut summary = OutboxSummary::default();
        for c in counts {
            match c.stripe_state.as_str() {
                "pending" => {
                    summary.pending = c.events;
                    summary.oldest_pending_at = c.oldest;
                }
                "sent" => summary.sent = c.events,
                "ledger" => summary.ledger_only = c.events,
                _ => summary.failed += c.events,
            }
        }
        if summary.pending + summary.failed > 0 {
            summary.last_error = sqlx::query_scalar::<Db, String>(
                "SELECT stripe_error FROM usage_events WHERE customer_id = $1 AND occurred_at >= $2 AND occurred_at < $3 \
                 AND stripe_state <> 'sent' AND stripe_error IS NOT NULL ORDER BY occurred_at DESC LIMIT 1",
            )
            .bind(customer)
            .bind(from)
            .bind(to)
            .fetch_optional(&self.read)
            .await?;
        }
        Ok(summary)
    }

    async fn outbox_by_meter(&self, customer: &str, from: i64, to: i64) -> Result<Vec<MeterDelivery>, StoreError> {
        Ok(sqlx::query_as::<Db, MeterDelivery>(
            "SELECT e.meter, e.stripe_state, COUNT(*) AS events, CAST(SUM(e.quantity) AS BIGINT) AS quantity, \
             (SELECT l.quantity FROM usage_events l WHERE l.customer_id = $1 AND l.occurred_at >= $2 AND l.occurred_at < $3 \
              AND l.meter = e.meter AND l.stripe_state = e.stripe_state \
              ORDER BY l.occurred_at DESC, l.recorded_at DESC, l.id DESC LIMIT 1) AS last_quantity \
             FROM usage_events e WHERE e.customer_id = $1 AND e.occurred_at >= $2 AND e.occurred_at < $3 \
             GROUP BY e.meter, e.stripe_state ORDER BY e.meter, e.stripe_state",
        )
        .bind(customer)
        .bind(from)
        .bind(to)
        .fetch_all(&self.read)
        .await?)
    }
}
