// The ledger's SQL and writer, written once and included into `sqlite.rs` and `postgres.rs`,
// which each define `Db`, `Conn`, `BACKEND`, `BEGIN`, `LOCK_CUSTOMER` and `pools`. Every statement
// here, and the migrations, are valid on both databases ($N placeholders, ON CONFLICT, RETURNING,
// CAST(SUM(..) AS BIGINT)); should a backend ever need its own DDL, give it its own folder.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use sqlx::QueryBuilder;
use tokio::sync::mpsc;

use super::cache::{Added, SnapshotCache, Spans};
use super::writer::{self, Op, Pending, settle};
use super::{
    CUSTOMER_COLUMNS, ConsumeRequest, Consumed, Counted, CreditEntryRecord, Created, CustomerRecord, EventQuery, GrantRecord,
    Adjusted, AdjustmentRecord, Granted, Ledger, NewAdjustment, NewCustomer, NewEvent, NewGrant, OutboxClaim, OutboxEvent, OutboxOutcome, OutboxSummary, Page,
    PlanChange, PlanChangeRecord, Recorded, Requeue, ReservedWrite, Snapshot, StoreError, StripeLink, UsageEventRecord, UsageTotals, WebhookApply, WebhookQuery,
    WebhookRecord,
};
use crate::core::credit;
use crate::core::entitlement::windows_for;
use crate::core::period::{Interval, Window};

/// The schema, embedded; applied when a backend opens.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./src/store/migrations");

const HOUR_MS: i64 = 3_600_000;
/// Rows per multi-row INSERT: 9 binds each stays far below both databases' bind limits.
const INSERT_CHUNK: usize = 1000;

pub struct Backend {
    read: sqlx::Pool<Db>,
    writer: mpsc::Sender<Op>,
    cache: Arc<SnapshotCache>,
}

impl Backend {
    pub async fn open(url: &str) -> Result<Backend, StoreError> {
        let (read, write) = pools(url).await?;
        let (tx, rx) = mpsc::channel(4 * writer::MAX_BATCH);
        let cache = Arc::new(SnapshotCache::default());
        tokio::spawn(run_writer(write, rx, Arc::clone(&cache)));
        Ok(Backend { read, writer: tx, cache })
    }
}

async fn run_writer(pool: sqlx::Pool<Db>, mut rx: mpsc::Receiver<Op>, cache: Arc<SnapshotCache>) {
    while let Some(ops) = writer::next_batch(&mut rx).await {
        run_batch(&pool, ops, &cache).await;
    }
}

/// What a batch changed, applied to the cache once the batch has committed.
#[derive(Default)]
struct Effects {
    added: Vec<Added>,
    invalidated: Vec<String>,
}

fn added(event: &NewEvent) -> Added {
    Added {
        customer: event.customer.clone(),
        meter: event.meter.clone(),
        tool: event.tool.clone(),
        first_at: event.occurred_at,
        occurred_at: event.occurred_at,
        tally: crate::core::usage::Tally::event(event.occurred_at, u64::try_from(event.quantity).unwrap_or(0)),
        distinct: event.distinct.is_some(),
    }
}

/// New events tallied per customer, meter, tool and hour (in batch order, so the latest stays
/// latest): what the cache needs, in a few entries. Spans that start inside an hour (a plan
/// change) are checked against each entry's first and last time by the cache.
fn aggregate<'a>(events: impl Iterator<Item = &'a NewEvent>) -> Vec<Added> {
    let mut sums: HashMap<(&str, &str, &str, i64), Added> = HashMap::new();
    for e in events {
        let hour = e.occurred_at.div_euclid(HOUR_MS) * HOUR_MS;
        let one = added(e);
        sums.entry((&e.customer, &e.meter, &e.tool, hour))
            .and_modify(|a| {
                a.tally.merge(&one.tally);
                a.first_at = a.first_at.min(one.first_at);
                a.occurred_at = a.occurred_at.max(one.occurred_at);
                a.distinct |= one.distinct;
            })
            .or_insert(one);
    }
    sums.into_values().collect()
}

/// One transaction for a batch: lock the customers in id order, run each operation under a
/// savepoint, commit, then answer.
async fn run_batch(pool: &sqlx::Pool<Db>, ops: Vec<Op>, cache: &SnapshotCache) {
    let mut conn = match pool.acquire().await {
        Ok(c) => c,
        Err(e) => return fail_all(ops, &e.to_string()),
    };
    if let Err(e) = sqlx::query(BEGIN).execute(&mut *conn).await {
        return fail_all(ops, &e.to_string());
    }
    let customers: BTreeSet<String> = ops.iter().flat_map(|op| op.customers()).map(str::to_string).collect();
    let mut known = BTreeSet::new();
    for id in customers {
        match sqlx::query_scalar::<Db, String>(LOCK_CUSTOMER).bind(&id).fetch_optional(&mut *conn).await {
            Ok(Some(_)) => {
                known.insert(id);
            }
            Ok(None) => {}
            Err(e) => {
                let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                return fail_all(ops, &e.to_string());
            }
        }
    }
    let mut pending: Vec<Pending> = Vec::with_capacity(ops.len());
    let mut fx = Effects::default();
    for op in ops {
        if let Err(e) = sqlx::query("SAVEPOINT op").execute(&mut *conn).await {
            op.fail(&e.to_string());
            continue;
        }
        let done = match op {
            Op::CreateCustomer(c, reply) => {
                let r = create_customer(&mut conn, &c, &mut known).await;
                fx.invalidated.extend(r.is_ok().then(|| c.id.clone()));
                settle(reply, r)
            }
            Op::ChangePlan(c, reply) => {
                let r = change_plan(&mut conn, &c).await;
                fx.invalidated.extend(r.is_ok().then(|| c.customer.clone()));
                settle(reply, r)
            }
            Op::SetReserved(w, reply) => {
                let r = set_reserved(&mut conn, &w).await;
                fx.invalidated.extend(r.is_ok().then(|| w.customer.clone()));
                settle(reply, r)
            }
            Op::LinkStripe(l, reply) => {
                let r = link_stripe(&mut conn, &l).await;
                fx.invalidated.extend(r.is_ok().then(|| l.customer.clone()));
                settle(reply, r)
            }
            Op::Usage(events, reply) => {
                let r = insert_events(&mut conn, &events, &known).await;
                if let Ok(results) = &r {
                    let new = events.iter().zip(results).filter(|(_, r)| matches!(r, Recorded::Recorded { .. }));
                    fx.added.extend(aggregate(new.map(|(e, _)| e)));
                }
                settle(reply, r)
            }
            Op::Consume(request, reply) => {
                let (event, customer) = (request.event.as_ref().map(added), request.customer.clone());
                let r = consume(&mut conn, request, &known).await;
                if let Ok(Consumed::Decided { verdict, event_id: Some(_) }) = &r {
                    // A gauge recorded its new level, not the asked quantity.
                    fx.added.extend(event.map(|mut a| {
                        if let Some(level) = verdict.record_quantity {
                            a.tally = crate::core::usage::Tally::event(a.occurred_at, level);
                        }
                        a
                    }));
                    fx.invalidated.extend((verdict.credits > 0).then_some(customer));
                }
                settle(reply, r)
            }
            Op::Grant(g, reply) => {
                let r = grant(&mut conn, &g, &known).await;
                fx.invalidated.extend(r.is_ok().then(|| g.customer.clone()));
                settle(reply, r)
            }
            Op::Adjust(a, reply) => {
                let r = adjust_credits(&mut conn, &a, &known).await;
                fx.invalidated.extend(r.is_ok().then(|| a.customer.clone()));
                settle(reply, r)
            }
            Op::Expire { customer, now, reply } => {
                let r = if known.contains(&customer) { expire_credits(&mut conn, &customer, now).await } else { Ok(0) };
                fx.invalidated.extend(r.is_ok().then(|| customer.clone()));
                settle(reply, r)
            }
            Op::LeaseOutbox { ids, now, lease_until, reply } => settle(reply, lease_outbox(&mut conn, &ids, now, lease_until).await),
            Op::SettleOutbox(outcomes, reply) => settle(reply, settle_outbox(&mut conn, &outcomes).await),
            Op::Requeue(r, reply) => settle(reply, requeue(&mut conn, &r).await),
            Op::ReceiveWebhook(e, reply) => settle(reply, receive_webhook(&mut conn, &e).await),
            Op::ApplyWebhook(a, reply) => {
                let r = apply_webhook(&mut conn, &a, &known).await;
                if r.is_ok() {
                    fx.invalidated.extend(a.customers().into_iter().map(String::from));
                }
                settle(reply, r)
            }
            Op::Key(w, reply) => settle(reply, write_key(&mut conn, w, &known).await),
            Op::Audit(e) => match insert_audit(&mut conn, &e).await {
                // Nobody waits for the entry, so a failed commit is said in the log.
                Ok(()) => Some(Box::new(move |r: Result<(), &str>| {
                    if let Err(error) = r {
                        tracing::error!(tool = e.tool, error, "an audit entry was not stored");
                    }
                }) as Pending),
                Err(err) => {
                    Op::Audit(e).fail(&err.to_string());
                    None
                }
            },
            Op::Barrier(reply) => settle(reply, Ok(())),
        };
        let end = if done.is_some() { "RELEASE SAVEPOINT op" } else { "ROLLBACK TO SAVEPOINT op" };
        if let Some(p) = done {
            pending.push(p);
        }
        if let Err(e) = sqlx::query(end).execute(&mut *conn).await {
            let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
            return pending.into_iter().for_each(|p| p(Err(&e.to_string())));
        }
    }
    let committed = sqlx::query("COMMIT").execute(&mut *conn).await.map(|_| ()).map_err(|e| e.to_string());
    if committed.is_err() {
        let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
    } else {
        // Before anyone is answered, so a caller's next read sees its own write.
        cache.add_usage(&fx.added);
        cache.invalidate(fx.invalidated.iter().map(String::as_str));
    }
    for p in pending {
        p(committed.as_ref().map(|_| ()).map_err(String::as_str));
    }
}

/// A list's cursor must name a row the same list (with the same filters, bound after the cursor
/// as `$2`, `$3`, …) could have returned; any other is [`StoreError::UnknownCursor`], whoever's
/// row it is.
async fn cursor_known(read: &sqlx::Pool<Db>, sql: &'static str, cursor: Option<&str>, filters: &[&str]) -> Result<(), StoreError> {
    let Some(cursor) = cursor else { return Ok(()) };
    let mut query = sqlx::query_scalar::<Db, i64>(sql).bind(cursor);
    for f in filters {
        query = query.bind(*f);
    }
    match query.fetch_one(read).await? {
        0 => Err(StoreError::UnknownCursor),
        _ => Ok(()),
    }
}

fn fail_all(ops: Vec<Op>, message: &str) {
    tracing::error!(error = message, "ledger transaction failed");
    ops.into_iter().for_each(|op| op.fail(message));
}

/// The customer queries, built once from [`CUSTOMER_COLUMNS`].
static CUSTOMER_BY_ID: std::sync::LazyLock<&'static str> = std::sync::LazyLock::new(|| customers_sql("WHERE id = $1"));
static CUSTOMERS_AFTER: std::sync::LazyLock<&'static str> = std::sync::LazyLock::new(|| customers_sql("WHERE id > $1 ORDER BY id LIMIT $2"));
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

async fn create_customer(conn: &mut Conn, c: &NewCustomer, known: &mut BTreeSet<String>) -> Result<Created, StoreError> {
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
    known.insert(c.id.clone());
    Ok(if inserted { Created::Created(record) } else { Created::Existing(record) })
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
            "SELECT id, customer_id, at, previous_plan, previous_interval, previous_anchor, plan, billing_interval FROM plan_changes \
             WHERE customer_id = $1 ORDER BY at DESC, id DESC LIMIT 1",
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

#[derive(sqlx::FromRow)]
struct IdRow {
    id: String,
}

/// Push `ids` out to the lease if they are still due (another process may have taken some
/// meanwhile); RETURNING says which this one got.
async fn lease_outbox(conn: &mut Conn, ids: &[String], now: i64, lease_until: i64) -> Result<Vec<String>, StoreError> {
    let mut qb = QueryBuilder::<Db>::new("UPDATE usage_events SET stripe_next_at = ");
    qb.push_bind(lease_until).push(" WHERE stripe_state = 'pending' AND stripe_next_at <= ").push_bind(now).push(" AND id IN (");
    let mut list = qb.separated(", ");
    for id in ids {
        list.push_bind(id);
    }
    qb.push(") RETURNING id");
    Ok(qb.build_query_as::<IdRow>().persistent(false).fetch_all(&mut *conn).await?.into_iter().map(|r| r.id).collect())
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
        match outcome {
            OutboxOutcome::Sent { id, at } => {
                sqlx::query(
                    "UPDATE usage_events SET stripe_state = 'sent', stripe_sent_at = $2, stripe_attempts = stripe_attempts + 1, \
                     stripe_error = NULL WHERE id = $1",
                )
                .bind(id)
                .bind(*at)
                .execute(&mut *conn)
                .await?;
            }
            OutboxOutcome::Retry { id, next_at, error, attempted } => {
                // An event parked for want of a Stripe customer is due at once if one was
                // linked while the round ran (the link's release would otherwise be overwritten).
                sqlx::query(
                    "UPDATE usage_events SET stripe_next_at = CASE WHEN $4 = 0 AND (SELECT c.stripe_customer_id FROM customers c \
                     WHERE c.id = usage_events.customer_id) IS NOT NULL THEN 0 ELSE $2 END, \
                     stripe_error = $3, stripe_attempts = stripe_attempts + $4 \
                     WHERE id = $1 AND stripe_state = 'pending'",
                )
                .bind(id)
                .bind(*next_at)
                .bind(error)
                .bind(i64::from(*attempted))
                .execute(&mut *conn)
                .await?;
            }
            OutboxOutcome::Failed { id, error } => {
                sqlx::query(
                    "UPDATE usage_events SET stripe_state = 'failed', stripe_error = $2, stripe_attempts = stripe_attempts + 1 \
                     WHERE id = $1 AND stripe_state = 'pending'",
                )
                .bind(id)
                .bind(error)
                .execute(&mut *conn)
                .await?;
            }
        }
    }
    Ok(())
}

macro_rules! select_webhooks {
    ($rest:literal) => {
        concat!(
            "SELECT id, type, object_id, created, payload, status, outcome, attempts, received_at, processed_at FROM webhook_events ",
            $rest
        )
    };
}

#[derive(sqlx::FromRow)]
struct BurnedRow {
    meter: String,
    credits: i64,
}

#[derive(sqlx::FromRow)]
struct StateCount {
    stripe_state: String,
    events: i64,
    oldest: Option<i64>,
}

async fn event_by_key(conn: &mut Conn, customer: &str, key: &str) -> Result<Option<String>, StoreError> {
    Ok(sqlx::query_scalar::<Db, String>("SELECT id FROM usage_events WHERE customer_id = $1 AND idempotency_key = $2")
        .bind(customer)
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?)
}

/// Check and record under the customer's lock: no two consumes see the same state.
async fn consume(conn: &mut Conn, request: ConsumeRequest, known: &BTreeSet<String>) -> Result<Consumed, StoreError> {
    if !known.contains(&request.customer) {
        return Ok(Consumed::UnknownCustomer);
    }
    if let Some(key) = request.event.as_ref().and_then(|e| e.idempotency_key.as_deref())
        && let Some(event_id) = event_by_key(conn, &request.customer, key).await?
    {
        return Ok(Consumed::Duplicate { event_id });
    }
    expire_credits(conn, &request.customer, request.now).await?;
    let counted = request.meter.as_ref().map(|(meter, aggregation)| Counted { meter, aggregation: *aggregation });
    let Some((mut snapshot, spans)) = load_snapshot(conn, &request.customer, counted, request.now).await? else {
        return Ok(Consumed::UnknownCustomer);
    };
    if let (Some(value), Some(spans)) = (request.event.as_ref().and_then(|e| e.distinct.as_deref()), spans) {
        let meter = request.event.as_ref().map_or("", |e| e.meter.as_str());
        snapshot.value_counted = value_counted(conn, &request.customer, meter, value, spans.month).await?;
    }
    let mut verdict = (request.decide)(&snapshot);
    if !verdict.decision.allowed {
        return Ok(Consumed::Decided { verdict: Box::new(verdict), event_id: None });
    }
    let parts = match credit::burn(&snapshot.grants, verdict.credits, request.now) {
        Ok(parts) => parts,
        Err(_) => {
            verdict.decision.allowed = false;
            verdict.decision.reason = crate::core::entitlement::Reason::InsufficientCredits;
            return Ok(Consumed::Decided { verdict: Box::new(verdict), event_id: None });
        }
    };
    let mut event = request.event;
    if let (Some(e), Some(level)) = (event.as_mut(), verdict.record_quantity) {
        e.quantity = i64::try_from(level).map_err(|_| StoreError::Corrupt("quantity overflows".into()))?;
    }
    let event_id = match &event {
        Some(event) => match insert_events(conn, std::slice::from_ref(event), known).await?.pop() {
            Some(Recorded::Recorded { id }) => Some(id),
            Some(Recorded::Duplicate { id }) => return Ok(Consumed::Duplicate { event_id: id }),
            _ => return Ok(Consumed::UnknownCustomer),
        },
        None => None,
    };
    for (grant_id, take) in parts {
        take_credits(conn, &request.customer, &grant_id, take, "debit", event_id.as_deref(), request.now).await?;
    }
    Ok(Consumed::Decided { verdict: Box::new(verdict), event_id })
}

#[async_trait::async_trait]
impl Ledger for Backend {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn create_customer(&self, customer: NewCustomer) -> Result<Created, StoreError> {
        writer::submit(&self.writer, |r| Op::CreateCustomer(customer, r)).await
    }

    async fn get_customer(&self, id: &str) -> Result<Option<CustomerRecord>, StoreError> {
        let mut conn = self.read.acquire().await?;
        fetch_customer(&mut conn, id).await
    }

    async fn list_customers(&self, page: Page<'_>) -> Result<Vec<CustomerRecord>, StoreError> {
        cursor_known(&self.read, "SELECT COUNT(*) FROM customers WHERE id = $1", page.starting_after, &[]).await?;
        Ok(sqlx::query_as::<Db, CustomerRecord>(*CUSTOMERS_AFTER)
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

    async fn record_usage(&self, events: Vec<NewEvent>) -> Result<Vec<Recorded>, StoreError> {
        writer::submit(&self.writer, |r| Op::Usage(events, r)).await
    }

    async fn consume(&self, request: ConsumeRequest) -> Result<Consumed, StoreError> {
        writer::submit(&self.writer, |r| Op::Consume(request, r)).await
    }

    async fn snapshot(&self, customer: &str, counted: Option<Counted<'_>>, now: i64) -> Result<Option<Arc<Snapshot>>, StoreError> {
        let meter = counted.map(|c| c.meter);
        let generation = match self.cache.get(customer, meter, now) {
            Ok(cached) => return Ok(Some(cached)),
            Err(generation) => generation,
        };
        let mut conn = self.read.acquire().await?;
        let Some((snapshot, spans)) = load_snapshot(&mut conn, customer, counted, now).await? else { return Ok(None) };
        let snapshot = Arc::new(snapshot);
        self.cache.put(meter, Arc::clone(&snapshot), spans, generation, now);
        Ok(Some(snapshot))
    }

    async fn value_counted(&self, customer: &str, meter: &str, value: &str, from: i64, to: i64) -> Result<bool, StoreError> {
        let mut conn = self.read.acquire().await?;
        value_counted(&mut conn, customer, meter, value, crate::core::period::Span { start: from, end: to }).await
    }

    async fn usage_totals(&self, customer: &str, from: i64, to: i64) -> Result<UsageTotals, StoreError> {
        let mut conn = self.read.acquire().await?;
        span_totals(&mut conn, customer, crate::core::period::Span { start: from, end: to }).await
    }

    async fn plan_changes(&self, customer: &str, from: i64, to: i64) -> Result<Vec<PlanChangeRecord>, StoreError> {
        Ok(sqlx::query_as::<Db, PlanChangeRecord>(
            "SELECT id, customer_id, at, previous_plan, previous_interval, previous_anchor, plan, billing_interval FROM plan_changes \
             WHERE customer_id = $1 AND at >= $2 AND at < $3 ORDER BY at, id",
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

    async fn credits_burned(&self, customer: &str, from: i64, to: i64) -> Result<BTreeMap<String, u64>, StoreError> {
        let rows = sqlx::query_as::<Db, BurnedRow>(
            "SELECT e.meter AS meter, CAST(-SUM(c.credits) AS BIGINT) AS credits FROM credit_entries c JOIN usage_events e ON e.id = c.event_id \
             WHERE c.customer_id = $1 AND c.kind = 'debit' AND e.occurred_at >= $2 AND e.occurred_at < $3 GROUP BY e.meter",
        )
        .bind(customer)
        .bind(from)
        .bind(to)
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(|r| (r.meter, u64::try_from(r.credits).unwrap_or(0))).collect())
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

    async fn claim_outbox(&self, claim: OutboxClaim) -> Result<Vec<OutboxEvent>, StoreError> {
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

    async fn receive_webhook(&self, event: WebhookRecord) -> Result<(WebhookRecord, bool), StoreError> {
        writer::submit(&self.writer, |r| Op::ReceiveWebhook(event, r)).await
    }

    async fn apply_webhook(&self, apply: WebhookApply) -> Result<Option<WebhookRecord>, StoreError> {
        writer::submit(&self.writer, |r| Op::ApplyWebhook(apply, r)).await
    }

    async fn get_webhook(&self, id: &str) -> Result<Option<WebhookRecord>, StoreError> {
        let mut conn = self.read.acquire().await?;
        fetch_webhook(&mut conn, id).await
    }

    async fn list_webhooks(&self, q: WebhookQuery) -> Result<Vec<WebhookRecord>, StoreError> {
        // The type filter never changes for an event; its status may (a retry), so it is no test.
        cursor_known(
            &self.read,
            "SELECT COUNT(*) FROM webhook_events WHERE id = $1 AND ($2 = '' OR type = $2)",
            q.starting_after.as_deref(),
            &[q.kind.as_deref().unwrap_or("")],
        )
        .await?;
        Ok(sqlx::query_as::<Db, WebhookRecord>(select_webhooks!(
            "w WHERE ($1 = '' OR status = $1) AND ($2 = '' OR type = $2) \
             AND ($3 = '' OR (received_at, id) < (SELECT received_at, id FROM webhook_events WHERE id = $3)) \
             ORDER BY received_at DESC, id DESC LIMIT $4"
        ))
        .bind(q.status.as_deref().unwrap_or(""))
        .bind(q.kind.as_deref().unwrap_or(""))
        .bind(q.starting_after.as_deref().unwrap_or(""))
        .bind(q.limit)
        .fetch_all(&self.read)
        .await?)
    }

    async fn payment_standing(&self, customer: &str) -> Result<PaymentStanding, StoreError> {
        payment_standing(&self.read, customer).await
    }

    async fn customer_by_stripe(&self, stripe_customer_id: &str) -> Result<Option<CustomerRecord>, StoreError> {
        Ok(sqlx::query_as::<Db, CustomerRecord>(*CUSTOMER_BY_STRIPE)
        .bind(stripe_customer_id)
        .fetch_optional(&self.read)
        .await?)
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
        Ok(sqlx::query_as::<Db, GrantRecord>(GRANT_COLUMNS_BY_CUSTOMER).bind(customer).fetch_all(&self.read).await?)
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
