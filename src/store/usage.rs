// Usage in the ledger, included into `sqlite.rs` and `postgres.rs` by `ledger.rs`: appending
// events with their hourly rows and monthly pieces (sum, count, largest quantity, first and latest
// event; each starts on the customer's own hours or month windows, see `spans.rs`, which reads a
// span back) and, for `unique` meters, the distinct values per UTC hour; the hourly totals over
// all customers for insights; and listing events.

use std::sync::LazyLock;

use crate::core::period::{billable_from, from_on};
use crate::core::usage::{Aggregation, Tally};

use super::{EventQuery, UsageEventRecord, UsageLedger};

/// Append events. Duplicates (same customer and idempotency key, stored earlier or repeated in
/// the batch) answer with the first event's id and are not stored; hourly totals count only new
/// events. Inserts are multi-row statements without RETURNING (one answer per statement, not per
/// row), and stored keys are looked up only when an insert skipped rows, so the common path is
/// the inserts alone.
async fn insert_events(conn: &mut Conn, events: &[NewEvent], known: &Known) -> Result<Vec<Recorded>, StoreError> {
    // Repeats within the batch point at their first occurrence and are not inserted.
    let mut first_at: HashMap<(&str, &str), usize> = HashMap::with_capacity(events.len());
    let mut repeat_of: Vec<Option<usize>> = vec![None; events.len()];
    let mut fresh: Vec<&NewEvent> = Vec::with_capacity(events.len());
    for (i, e) in events.iter().enumerate() {
        if known.live(&e.customer).is_none() {
            continue;
        }
        if let Some(key) = e.idempotency_key.as_deref() {
            if let Some(first) = first_at.get(&(e.customer.as_str(), key)) {
                repeat_of[i] = Some(*first);
                continue;
            }
            first_at.insert((&e.customer, key), i);
        }
        fresh.push(e);
    }
    // A key of an event retention removed stays taken (looked up only for customers with removed
    // events, whose row the batch holds locked).
    let removed_ids = if fresh.iter().any(|e| e.idempotency_key.is_some() && known.record(&e.customer).is_some_and(|c| c.events_removed > 0)) {
        let asked: Vec<&NewEvent> = fresh.iter().copied().filter(|e| e.idempotency_key.is_some() && known.record(&e.customer).is_some_and(|c| c.events_removed > 0)).collect();
        let found = keys_in(conn, REMOVED_KEYS, &asked).await?;
        fresh.retain(|e| e.idempotency_key.as_ref().is_none_or(|k| !found.contains_key(&(e.customer.clone(), k.clone()))));
        found
    } else {
        BTreeMap::new()
    };
    let mut stored = 0_u64;
    for chunk in pieces(&fresh, INSERT_CHUNK) {
        stored += insert_chunk(conn, chunk).await?;
    }
    // Skipped rows had a key stored before (by an earlier call or another process): find its id.
    let mut stored_ids = if stored == fresh.len() as u64 { BTreeMap::new() } else { keys_in(conn, STORED_KEYS, &fresh).await? };
    stored_ids.extend(removed_ids);
    let mut results: Vec<Recorded> = Vec::with_capacity(events.len());
    let mut hourly: HashMap<(&str, &str, i64, &str), (i64, Tally)> = HashMap::new();
    let mut monthly: HashMap<(&str, &str, i64, &str), (i64, Tally)> = HashMap::new();
    // The piece of a customer's latest event: its next event is most often in it too.
    let mut pieces: HashMap<&str, Span> = HashMap::new();
    let mut distinct: HashMap<(&str, &str, i64, &str), (i64, i64)> = HashMap::new();
    for (i, e) in events.iter().enumerate() {
        let result = if known.live(&e.customer).is_none() {
            Recorded::UnknownCustomer
        } else if let Some(first) = repeat_of[i] {
            match &results[first] {
                Recorded::Recorded { id } | Recorded::Duplicate { id } => Recorded::Duplicate { id: id.clone() },
                Recorded::UnknownCustomer => Recorded::UnknownCustomer,
            }
        } else {
            let earlier = e.idempotency_key.as_ref().and_then(|k| stored_ids.get(&(e.customer.clone(), k.clone()))).filter(|id| **id != e.id);
            match earlier {
                Some(id) => Recorded::Duplicate { id: id.clone() },
                None => {
                    let (row, hour) = (known.bucket(&e.customer, e.occurred_at), floor_hour(e.occurred_at));
                    let quantity = u64::try_from(e.quantity).unwrap_or(0);
                    let piece = match pieces.get(e.customer.as_str()) {
                        Some(p) if p.contains(e.occurred_at) => p.start,
                        _ => {
                            let p = known.piece(&e.customer, e.occurred_at);
                            pieces.insert(&e.customer, p);
                            p.start
                        }
                    };
                    let event = Tally::event(e.occurred_at, quantity);
                    for (rows, start) in [(&mut hourly, row), (&mut monthly, piece)] {
                        let (first, tally) = rows.entry((&e.customer, &e.meter, start, &e.tool)).or_insert((e.occurred_at, Tally::default()));
                        *first = (*first).min(e.occurred_at);
                        tally.merge(&event);
                    }
                    if let Some(value) = e.distinct.as_deref() {
                        let seen = distinct.entry((&e.customer, &e.meter, hour, value)).or_insert((e.occurred_at, e.occurred_at));
                        *seen = (seen.0.min(e.occurred_at), seen.1.max(e.occurred_at));
                    }
                    Recorded::Recorded { id: e.id.clone() }
                }
            }
        };
        results.push(result);
    }
    upsert_totals(conn, &HOURLY, hourly).await?;
    upsert_totals(conn, &MONTHLY, monthly).await?;
    upsert_distinct(conn, distinct).await?;
    Ok(results)
}

/// Insert events, skipping those whose key is stored: the rows inserted. From
/// [`PLAIN_INSERT_FROM`] rows on, a plain insert is tried first under a savepoint of its own.
async fn insert_chunk(conn: &mut Conn, chunk: &[&NewEvent]) -> Result<u64, StoreError> {
    if PLAIN_INSERT_FROM.is_some_and(|from| chunk.len() >= from) {
        sqlx::query("SAVEPOINT plain").execute(&mut *conn).await?;
        match events_insert(chunk, "").build().execute(&mut *conn).await {
            Ok(done) => {
                sqlx::query("RELEASE SAVEPOINT plain").execute(&mut *conn).await?;
                return Ok(done.rows_affected());
            }
            Err(e) if e.as_database_error().is_some_and(|d| d.is_unique_violation()) => {
                sqlx::query("ROLLBACK TO SAVEPOINT plain").execute(&mut *conn).await?;
                sqlx::query("RELEASE SAVEPOINT plain").execute(&mut *conn).await?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(events_insert(chunk, " ON CONFLICT DO NOTHING").build().execute(&mut *conn).await?.rows_affected())
}

fn events_insert(chunk: &[&NewEvent], conflict: &str) -> QueryBuilder<Db> {
    let mut qb = QueryBuilder::<Db>::new(
        "INSERT INTO usage_events (id, customer_id, meter, quantity, occurred_at, tool, dimensions, idempotency_key, recorded_at, stripe_state) ",
    );
    qb.push_values(chunk, |mut b, e| {
        b.push_bind(&e.id)
            .push_bind(&e.customer)
            .push_bind(&e.meter)
            .push_bind(e.quantity)
            .push_bind(e.occurred_at)
            .push_bind(&e.tool)
            .push_bind(&e.dimensions)
            .push_bind(&e.idempotency_key)
            .push_bind(e.recorded_at)
            .push_bind(if e.to_stripe { "pending" } else { "ledger" });
    });
    qb.push(conflict);
    qb
}

fn as_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The statement parts of a level of usage totals the writer keeps (`table`, its rows keyed by
/// customer, meter, the `start` column and value): the insert, and what a conflict adds.
fn totals_sql(table: &str, start: &str) -> (String, String) {
    (
        format!("INSERT INTO {table} (customer_id, meter, {start}, tool, first_at, quantity, events, max_q, last_at, last_q) "),
        // Every right-hand side reads the row as it was (SQL's rule on both databases).
        format!(
            " ON CONFLICT (customer_id, meter, {start}, tool) DO UPDATE SET quantity = {table}.quantity + excluded.quantity, \
             events = {table}.events + excluded.events, \
             first_at = CASE WHEN excluded.first_at < {table}.first_at THEN excluded.first_at ELSE {table}.first_at END, \
             max_q = CASE WHEN excluded.max_q > {table}.max_q THEN excluded.max_q ELSE {table}.max_q END, \
             last_q = CASE WHEN excluded.last_at >= {table}.last_at THEN excluded.last_q ELSE {table}.last_q END, \
             last_at = CASE WHEN excluded.last_at >= {table}.last_at THEN excluded.last_at ELSE {table}.last_at END"
        ),
    )
}

static HOURLY: LazyLock<(String, String)> = LazyLock::new(|| totals_sql("usage_hourly", "hour"));
static MONTHLY: LazyLock<(String, String)> = LazyLock::new(|| totals_sql("usage_monthly", "piece"));

/// Add new events to their rows of one level (each keyed by its start on the customer's grid,
/// with the time of its first and latest event); rows sorted, so concurrent writers touch them in
/// one order.
async fn upsert_totals(conn: &mut Conn, sql: &(String, String), totals: HashMap<(&str, &str, i64, &str), (i64, Tally)>) -> Result<(), StoreError> {
    let mut rows: Vec<_> = totals.into_iter().collect();
    rows.sort_unstable_by_key(|(k, _)| *k);
    for chunk in pieces(&rows, INSERT_CHUNK) {
        let mut qb = QueryBuilder::<Db>::new(sql.0.as_str());
        qb.push_values(chunk, |mut b, ((customer, meter, hour, tool), (first, t))| {
            let (last_at, last_q) = t.last.unwrap_or((*hour, 0));
            b.push_bind(*customer)
                .push_bind(*meter)
                .push_bind(*hour)
                .push_bind(*tool)
                .push_bind(*first)
                .push_bind(as_i64(t.sum))
                .push_bind(as_i64(t.count))
                .push_bind(as_i64(t.max))
                .push_bind(last_at)
                .push_bind(as_i64(last_q));
        });
        qb.push(sql.1.as_str());
        qb.build().execute(&mut *conn).await?;
    }
    Ok(())
}

async fn upsert_distinct(conn: &mut Conn, distinct: HashMap<(&str, &str, i64, &str), (i64, i64)>) -> Result<(), StoreError> {
    let mut rows: Vec<_> = distinct.into_iter().collect();
    rows.sort_unstable_by_key(|(k, _)| *k);
    for chunk in pieces(&rows, INSERT_CHUNK) {
        let mut qb = QueryBuilder::<Db>::new("INSERT INTO usage_distinct (customer_id, meter, hour, value, first_at, last_at) ");
        qb.push_values(chunk, |mut b, ((customer, meter, hour, value), (first, last))| {
            b.push_bind(*customer).push_bind(*meter).push_bind(*hour).push_bind(*value).push_bind(*first).push_bind(*last);
        });
        qb.push(
            " ON CONFLICT (customer_id, meter, hour, value) DO UPDATE SET \
             first_at = CASE WHEN excluded.first_at < usage_distinct.first_at THEN excluded.first_at ELSE usage_distinct.first_at END, \
             last_at = CASE WHEN excluded.last_at > usage_distinct.last_at THEN excluded.last_at ELSE usage_distinct.last_at END",
        );
        qb.build().persistent(false).execute(&mut *conn).await?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    idempotency_key: String,
    id: String,
}

/// Where [`keys_in`] looks: the stored events, or the keys of events retention removed.
const STORED_KEYS: &str = "SELECT idempotency_key, id FROM usage_events WHERE customer_id = ";
const REMOVED_KEYS: &str = "SELECT idempotency_key, event_id AS id FROM usage_event_keys WHERE customer_id = ";

/// The events under the idempotency keys of `events` in `from` (a query up to its customer):
/// (customer, key) → event id. One query per customer, shaped
/// `customer_id = ? AND idempotency_key IN (…)` so both databases search the unique index (a
/// row-value `IN (VALUES …)` makes SQLite scan the whole table). Checked on a grown ledger by
/// `cargo bench --bench throughput`.
async fn keys_in(conn: &mut Conn, from: &'static str, events: &[&NewEvent]) -> Result<BTreeMap<(String, String), String>, StoreError> {
    let mut by_customer: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for e in events {
        if let Some(key) = e.idempotency_key.as_deref() {
            by_customer.entry(&e.customer).or_default().push(key);
        }
    }
    let mut found = BTreeMap::new();
    for (customer, keys) in by_customer {
        for chunk in keys.chunks(INSERT_CHUNK) {
            let mut qb = QueryBuilder::<Db>::new(from);
            qb.push_bind(customer).push(" AND idempotency_key IN ");
            push_in(&mut qb, chunk);
            // On PostgreSQL planned afresh each time with its values ([`LISTS_CACHED`]).
            for row in qb.build_query_as::<KeyRow>().persistent(LISTS_CACHED).fetch_all(&mut *conn).await? {
                found.insert((customer.to_string(), row.idempotency_key), row.id);
            }
        }
    }
    Ok(found)
}

/// Shards of `usage_rollup`: a customer's usage always goes to the same one.
const ROLLUP_SHARDS: u32 = 4;

fn shard_of(customer: &str) -> i64 {
    // Any stable spread will do: the dashboard sums every shard.
    i64::from(customer.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b))) % ROLLUP_SHARDS)
}

/// Add a committed batch's new usage to the totals over all customers, per hour and per UTC day
/// (`width`), last in the batch and in one key order, so the shared rows are held for the commit
/// alone and writers never wait on each other in a cycle.
async fn upsert_rollup(conn: &mut Conn, added: &[super::cache::Added]) -> Result<(), StoreError> {
    // (width, start, meter, value, shard) → (quantity, events)
    type Key<'a> = (i64, i64, &'a str, &'a str, i64);
    let mut sums: BTreeMap<Key, (i64, i64)> = BTreeMap::new();
    for a in added {
        for width in [HOUR_MS, DAY_MS] {
            let sum = sums.entry((width, a.first_at.div_euclid(width) * width, &a.meter, &a.tool, shard_of(&a.customer))).or_default();
            sum.0 = sum.0.saturating_add(as_i64(a.tally.sum));
            sum.1 = sum.1.saturating_add(as_i64(a.tally.count));
        }
    }
    let rows: Vec<_> = sums.into_iter().collect();
    for chunk in pieces(&rows, INSERT_CHUNK) {
        let mut qb = QueryBuilder::<Db>::new("INSERT INTO usage_rollup (width, start, meter, tool, shard, quantity, events) ");
        qb.push_values(chunk, |mut b, ((width, start, meter, tool, shard), (quantity, events))| {
            b.push_bind(*width).push_bind(*start).push_bind(*meter).push_bind(*tool).push_bind(*shard).push_bind(*quantity).push_bind(*events);
        });
        qb.push(
            // Saturating: a total past the ledger's range must not fail every batch after it.
            " ON CONFLICT (width, start, meter, tool, shard) DO UPDATE SET \
             quantity = CASE WHEN usage_rollup.quantity > 9223372036854775807 - excluded.quantity \
               THEN 9223372036854775807 ELSE usage_rollup.quantity + excluded.quantity END, \
             events = CASE WHEN usage_rollup.events > 9223372036854775807 - excluded.events \
               THEN 9223372036854775807 ELSE usage_rollup.events + excluded.events END",
        );
        qb.build().execute(&mut *conn).await?;
    }
    Ok(())
}

fn floor_hour(t: i64) -> i64 {
    t.div_euclid(HOUR_MS) * HOUR_MS
}

#[async_trait::async_trait]
impl UsageLedger for Backend {
    async fn record_usage(&self, events: Vec<NewEvent>) -> Result<Vec<Recorded>, StoreError> {
        writer::submit(&self.writer, |r| Op::Usage(events, r)).await
    }

    async fn usage_totals(&self, customer: &str, from: i64, to: i64) -> Result<UsageTotals, StoreError> {
        let mut conn = self.read.acquire().await?;
        span_totals(&mut conn, customer, crate::core::period::Span { start: from, end: to }).await
    }

    async fn list_events(&self, q: EventQuery) -> Result<Vec<UsageEventRecord>, StoreError> {
        // Newest first; the cursor is an event id of this customer (and meter), resolved to its
        // (time, id) position: another customer's event is as unknown as one that never was.
        let meter = q.meter.as_deref().unwrap_or("");
        cursor_known(
            &self.read,
            "SELECT COUNT(*) FROM usage_events WHERE id = $1 AND customer_id = $2 AND ($3 = '' OR meter = $3)",
            q.starting_after.as_deref(),
            &[&q.customer, meter],
        )
        .await?;
        Ok(sqlx::query_as::<Db, UsageEventRecord>(
            "SELECT id, customer_id, meter, quantity, occurred_at, tool, dimensions, idempotency_key, recorded_at, \
             stripe_state, stripe_attempts, stripe_error, stripe_sent_at, billed_invoice FROM usage_events e WHERE customer_id = $1 AND ($2 = '' OR meter = $2) AND occurred_at >= $3 AND occurred_at < $4 \
             AND ($5 = '' OR (occurred_at, id) < (SELECT occurred_at, id FROM usage_events WHERE id = $5)) \
             ORDER BY occurred_at DESC, id DESC LIMIT $6",
        )
        .bind(&q.customer)
        .bind(q.meter.as_deref().unwrap_or(""))
        .bind(q.from)
        .bind(q.to)
        .bind(q.starting_after.as_deref().unwrap_or(""))
        .bind(q.limit)
        .fetch_all(&self.read)
        .await?)
    }
}
